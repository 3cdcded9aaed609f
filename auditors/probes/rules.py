"""What a probe set may hold: size limits and the rules for ids, words, text and keys.

Why one module: the reader (which validates every folder the audit loads), the writer (which
refuses bad drafts) and `mllm-audit probes validate` must apply the same rules, and each limit is
set by a place downstream that would otherwise fail in the middle of an audit:

- probe ids become file names (`images/<id>.png`, on case-insensitive and Windows file systems
  too), database keys (255 characters) and keys of the report's HTML and JSON: letters, digits,
  '.', '_' and '-', starting with a letter or digit, at most 128 characters, not ending in '.', not a
  Windows device name, and unique regardless of case;
- object words are stored per metric (255 characters) and the report splits labels on '#': single
  words of at most 64 characters without whitespace, '#' or control characters;
- text reaches the tokenizer and the database: valid Unicode (no lone surrogates) and no control
  characters (PostgreSQL refuses NUL) except tab and line breaks in prompts and descriptions;
- images are decoded whole: at most `MAX_IMAGE_PIXELS` pixels (a larger header is a decompression
  bomb or needs resizing first), an aspect ratio under `MAX_ASPECT_RATIO` (Qwen2-VL's processor
  refuses 200:1), and no 16-bit or floating-point greyscale (converting it to RGB clips it).
"""

from __future__ import annotations

import re
from typing import Any

MAX_IMAGE_PIXELS = 40_000_000
MAX_ASPECT_RATIO = 200.0
MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024  # probeset.yaml
MAX_PROBES_FILE_BYTES = 256 * 1024 * 1024  # probes.jsonl
MAX_LINE_CHARS = 1024 * 1024
MAX_PROBES = 100_000
MAX_ID_CHARS = 128
MAX_WORD_CHARS = 64
MAX_PROMPT_CHARS = 4000
MAX_NAME_CHARS = 200
MAX_VERSION_CHARS = 64
MAX_DESCRIPTION_CHARS = 20_000
# Pillow modes whose conversion to RGB keeps the picture; 16-bit and float greyscale are clipped
IMAGE_MODES = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})

PROBE_KEYS = ("id", "image", "prompt", "objects", "caption")
OBJECT_KEYS = ("words", "mask")
MANIFEST_KEYS = ("name", "version", "description", "default_prompt", "prompt", "source", "licence", "license",
                 "word_classes", "ordered_objects")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                              *(f"lpt{i}" for i in range(1, 10))})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def kind(value: Any) -> str:
    """A value's JSON/YAML kind for messages (never its repr: a YAML alias bomb prints forever)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def text_problem(value: Any, what: str, max_chars: int, *, line_breaks: bool = False) -> str | None:
    """Why `value` cannot be the text `what`, or None. Empty text is a problem too."""
    if not isinstance(value, str):
        return f"{what} must be text, got {kind(value)}"
    if not value.strip():
        return f"{what} is empty"
    if len(value) > max_chars:
        return f"{what} is {len(value)} characters long (at most {max_chars})"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} holds a lone surrogate escape (\\ud800-\\udfff): not valid Unicode text"
    control = (_CONTROL_BUT_LINES if line_breaks else _CONTROL).search(value)
    if control:
        return f"{what} holds the control character U+{ord(control.group()):04X}"
    return None


def id_problem(value: Any) -> str | None:
    """Why `value` cannot be a probe id, or None (see the module note)."""
    if not isinstance(value, str):
        return f"probe id must be text, got {kind(value)}"
    shown = value if len(value) <= 40 else value[:40] + "..."
    if len(value) > MAX_ID_CHARS:
        return f"probe id {shown!r} is {len(value)} characters long (at most {MAX_ID_CHARS})"
    if not _ID.fullmatch(value) or value.endswith("."):
        return (f"probe id {shown!r} must be letters, digits, '.', '_' or '-', start with a letter or digit "
                "and not end with '.' (ids become file names and report keys)")
    if value.split(".")[0].lower() in _WINDOWS_DEVICES:
        return f"probe id {value!r} is a reserved device name on Windows and cannot be a file name"
    return None


def word_problem(value: Any) -> str | None:
    """Why `value` cannot be an object word, or None."""
    problem = text_problem(value, "object word", MAX_WORD_CHARS)
    if problem:
        return problem
    if any(ch.isspace() for ch in value) or "#" in value:
        return f"object word {value!r} must be a single word (no spaces, no '#')"
    return None


def unknown_key_problem(key: str, known: tuple[str, ...], where: str, *, strict: bool) -> str | None:
    """A key the format does not define, or None.

    Where `strict` (objects: words and mask only) any other key is a problem. Elsewhere other keys
    are kept as metadata (importers write some), except one a typo away from a field name
    (`promt`, `Image`, `objetcs`): kept silently, it would leave the field at its default.
    """
    if key in known:
        return None
    typo = next((name for name in known if _one_typo(key, name)), None)
    if typo:
        return f"{where}: unknown key {key!r} (did you mean {typo!r}?)"
    if strict:
        return f"{where}: unknown key {key!r} (allowed: {', '.join(known)})"
    return None


def _one_typo(key: str, name: str) -> bool:
    """True when `key` is `name` with different letter case, or one letter added, dropped, changed
    or two swapped; a plural (`captions`) is a name of its own, and names under four letters (`id`)
    are too short to tell a typo from another word."""
    key = key.lower()
    if key == name:
        return True
    if len(name) < 4 or key == name + "s" or abs(len(key) - len(name)) > 1:
        return False
    if len(key) == len(name):
        diff = [i for i, (a, b) in enumerate(zip(key, name)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and key[diff[0]] == name[diff[1]] and key[diff[1]] == name[diff[0]])
    short, long_ = sorted((key, name), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
