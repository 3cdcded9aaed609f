"""A corpus of broken probe sets: every way a folder, a JSON line, a YAML file, an image or a mask can
be wrong, each built by breaking one thing in a valid 3-probe set.

Each `Case` names the problem code the reader must report and where (`probeset.yaml`, or
`probes.jsonl line N`). `TOLERATED` lists variants that are odd but readable (CRLF, a UTF-8
byte-order mark, paletted or CMYK images, metadata keys, ...): the reader must accept them and read
the same probes as from the clean folder. Used by the reader's tests (`test_corpus.py`) and by the
command line's (`tests/flows/test_bad_probe_sets.py`).
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from tests.auditors.probes.helpers import write_small_set

JSONL, YAML = "probes.jsonl", "probeset.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    breaks: Callable[[Path], None]
    code: str
    where: str  # what the problem line starts with: a file, and "line N" when known


def valid_set(root: Path) -> Path:
    """Three probes p000-p002: 40x30 RGB PNGs, one 'red square' object with a mask each."""
    write_small_set(root, n=3)
    return root


# ---- small editors --------------------------------------------------------------------------------


def _lines(root: Path) -> list[str]:
    return (root / JSONL).read_text(encoding="utf-8").splitlines()


def raw_line(number: int, text: str) -> Callable[[Path], None]:
    """Replace line `number` (1-based) of probes.jsonl with `text` as it is."""

    def edit(root: Path) -> None:
        lines = _lines(root)
        lines[number - 1] = text
        (root / JSONL).write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def field(number: int, key: str, value: Any, obj: int | None = None) -> Callable[[Path], None]:
    """Set `key` of line `number`'s probe (or of its object `obj`) to `value` (`...` deletes it)."""

    def edit(root: Path) -> None:
        lines = _lines(root)
        record = json.loads(lines[number - 1])
        target = record if obj is None else record["objects"][obj]
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
        lines[number - 1] = json.dumps(record)
        (root / JSONL).write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def yaml_text(text: str | bytes) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / YAML).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    return edit


def jsonl_bytes(transform: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / JSONL
        path.write_bytes(transform(path.read_bytes()))

    return edit


def file_bytes(rel: str, data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / rel
        path.write_bytes(data(path.read_bytes()) if callable(data) else data)

    return edit


def image(rel: str, make: Callable[[], Image.Image], fmt: str = "PNG") -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        make().save(root / rel, format=fmt)

    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` 8-bit grey pixels and holds a few bytes of data: a
    decompression bomb's header, without allocating the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _symlink(rel: str, target: str | Callable[[Path], Path]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        link = root / rel
        link.unlink(missing_ok=True)
        os.symlink(target(root) if callable(target) else target, link)

    return edit


def _outside_png(root: Path) -> Path:
    path = root.parent / f"{root.name}-outside.png"
    Image.new("RGB", (40, 30)).save(path)
    return path


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 8]) + data[middle + 8:]


def _palette_black_mask() -> Image.Image:
    mask = Image.new("P", (40, 30), 1)
    mask.putpalette([0, 0, 0] * 256)  # every index, the foreground's 1 included, is black
    return mask


def _alpha_only_mask() -> Image.Image:
    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[5:15, 5:15, 3] = 255  # drawn in the alpha channel only
    return Image.fromarray(pixels, mode="RGBA")


def _nested(depth: int) -> str:
    return '{"id": "p000", "image": "images/p000.png", "x": ' + "[" * depth + "]" * depth + "}"


L1, L2, L3 = f"{JSONL} line 1", f"{JSONL} line 2", f"{JSONL} line 3"
_P1 = "images/p001.png"
_M2 = "masks/p002_0.png"

CASES: list[Case] = [
    # the folder and its two files
    Case("no probes.jsonl", lambda r: (r / JSONL).unlink(), "missing_probes_file", JSONL),
    Case("no probeset.yaml", lambda r: (r / YAML).unlink(), "missing_manifest", YAML),
    Case("probeset.yml instead", lambda r: (r / YAML).rename(r / "probeset.yml"), "missing_manifest", YAML),
    Case("probes.jsonl is a folder", both(lambda r: (r / JSONL).unlink(), lambda r: (r / JSONL).mkdir()),
         "missing_probes_file", JSONL),
    Case("empty probes.jsonl", file_bytes(JSONL, b""), "empty_set", JSONL),
    Case("only blank lines", file_bytes(JSONL, b"\n  \n\t\n"), "empty_set", JSONL),
    Case("empty probeset.yaml", yaml_text(""), "bad_manifest", YAML),
    # text encodings and line structure
    Case("probes.jsonl in UTF-16", jsonl_bytes(lambda b: b.decode().encode("utf-16")), "bad_encoding", JSONL),
    Case("Latin-1 byte in line 2", jsonl_bytes(lambda b: b.replace(b'"p001"', b'"p001", "x": "caf\xe9"')),
         "bad_encoding", JSONL),
    Case("probeset.yaml in Latin-1", yaml_text(b"name: caf\xe9\nversion: '1'\n"), "bad_encoding", YAML),
    Case("probeset.yaml in UTF-16", yaml_text("name: n\nversion: '1'\n".encode("utf-16")), "bad_encoding", YAML),
    Case("bare CR line endings", jsonl_bytes(lambda b: b.replace(b"\n", b"\r")), "bad_json", L1),
    Case("raw NUL inside a line", jsonl_bytes(lambda b: b.replace(b'"p001"', b'"p0\x0001"')), "bad_json", L2),
    Case("line over 1 MiB", field(2, "x", "a" * (1024 * 1024 + 10)), "bad_json", L2),
    # JSON
    Case("truncated JSON line", raw_line(2, '{"id": "p001", "image": '), "bad_json", L2),
    Case("JSON array line", raw_line(2, '["p001", "images/p001.png"]'), "bad_json", L2),
    Case("NaN", field(2, "score", float("nan")), "bad_json", L2),
    Case("Infinity", raw_line(2, '{"id": "p001", "image": "images/p001.png", "w": Infinity}'), "bad_json", L2),
    Case("1e999", raw_line(2, '{"id": "p001", "image": "images/p001.png", "w": 1e999}'), "bad_json", L2),
    Case("5000-digit integer id", raw_line(2, '{"id": ' + "9" * 5000 + ', "image": "images/p001.png"}'),
         "bad_json", L2),
    Case("nesting 100k deep", raw_line(2, _nested(100_000)), "bad_json", L2),
    Case("duplicate JSON key", raw_line(2, '{"id": "p001", "id": "p009", "image": "images/p001.png"}'),
         "bad_json", L2),
    Case("id a float", field(2, "id", 1.5), "bad_id", L2),
    Case("id a boolean", field(2, "id", True), "bad_id", L2),
    Case("id a list", field(2, "id", ["p001"]), "bad_id", L2),
    Case("no id", field(2, "id", ...), "missing_field", L2),
    Case("no image", field(2, "image", ...), "missing_field", L2),
    Case("image a number", field(2, "image", 7), "bad_field", L2),
    Case("prompt a number", field(2, "prompt", 7), "bad_field", L2),
    Case("objects a mapping", field(2, "objects", {"words": ["red"]}), "bad_field", L2),
    Case("object a string", field(2, "objects", ["red square"]), "bad_field", L2),
    Case("words a string", field(2, "words", "red", obj=0), "bad_field", L2),
    Case("mask a number", field(2, "mask", 3, obj=0), "bad_field", L2),
    Case("no mask", field(2, "mask", ..., obj=0), "missing_field", L2),
    Case("caption a number", field(2, "caption", 3), "bad_field", L2),
    # ids (file names, database and report keys)
    Case("id with a slash", field(2, "id", "a/b"), "bad_id", L2),
    Case("id '..'", field(2, "id", ".."), "bad_id", L2),
    Case("id with a space", field(2, "id", "p 1"), "bad_id", L2),
    Case("id with a control character", field(2, "id", "p\u00011"), "bad_id", L2),
    Case("id with a newline", field(2, "id", "p\n1"), "bad_id", L2),
    Case("id with an accent", field(2, "id", "p\u00e91"), "bad_id", L2),
    Case("id of 200 characters", field(2, "id", "p" * 200), "bad_id", L2),
    Case("id a Windows device", field(2, "id", "CON"), "bad_id", L2),
    Case("id ending in a dot", field(2, "id", "p1."), "bad_id", L2),
    Case("empty id", field(2, "id", ""), "bad_id", L2),
    Case("duplicate id", field(3, "id", "p000"), "duplicate_id", L3),
    Case("ids equal but for case", field(3, "id", "P000"), "duplicate_id", L3),
    # keys and text
    Case("misspelt prompt key", field(2, "promt", "Describe it."), "unknown_key", L2),
    Case("misspelt image key", both(field(2, "Image", _P1), field(2, "image", ...)), "unknown_key", L2),
    Case("unknown object key", field(2, "maks", "masks/p001_0.png", obj=0), "unknown_key", L2),
    Case("empty prompt", field(2, "prompt", ""), "bad_field", L2),
    Case("blank prompt", field(2, "prompt", "   "), "bad_field", L2),
    Case("prompt of 5000 characters", field(2, "prompt", "x" * 5000), "bad_field", L2),
    Case("NUL in prompt", field(2, "prompt", "Describe\u0000 it."), "bad_field", L2),
    Case("lone surrogate in prompt", raw_line(2, '{"id": "p001", "image": "images/p001.png", "prompt": "a\\ud800"}'),
         "bad_field", L2),
    Case("no words", field(2, "words", [], obj=0), "missing_field", L2),
    Case("two words in one", field(2, "words", ["red square"], obj=0), "bad_field", L2),
    Case("word with '#'", field(2, "words", ["red#2"], obj=0), "bad_field", L2),
    Case("empty word", field(2, "words", [""], obj=0), "bad_field", L2),
    Case("word of 100 characters", field(2, "words", ["r" * 100], obj=0), "bad_field", L2),
    # paths
    Case("absolute image path", lambda r: field(2, "image", str(_outside_png(r)))(r), "path_escape", L2),
    Case("image path with '..'", lambda r: field(2, "image", f"../{_outside_png(r).name}")(r), "path_escape", L2),
    Case("image symlink leaving the folder", _symlink(_P1, _outside_png), "path_escape", L2),
    Case("image symlink loop", both(_symlink("images/loop_a.png", "loop_b.png"),
                                    _symlink("images/loop_b.png", "loop_a.png"), field(2, "image", "images/loop_a.png")),
         "missing_file", L2),
    Case("image path a folder", field(2, "image", "images"), "missing_file", L2),
    Case("image file missing", lambda r: (r / _P1).unlink(), "missing_file", L2),
    Case("backslash in image path", field(2, "image", "images\\p001.png"), "path_escape", L2),
    Case("NUL in image path", field(2, "image", "images/p001.png\u0000.txt"), "bad_field", L2),
    Case("mask path leaving the folder", lambda r: field(2, "mask", f"../{_outside_png(r).name}", obj=0)(r),
         "path_escape", L2),
    Case("mask file missing", lambda r: (r / _M2).unlink(), "missing_file", L3),
    # images
    Case("truncated image", file_bytes(_P1, lambda b: b[: len(b) // 2]), "unreadable_file", L2),
    Case("zero-byte image", file_bytes(_P1, b""), "unreadable_file", L2),
    Case("text file named .png", file_bytes(_P1, b"not an image\n"), "unreadable_file", L2),
    Case("corrupted image data", file_bytes(_P1, _flip_middle), "unreadable_file", L2),
    Case("decompression bomb header", file_bytes(_P1, png_header(100_000, 100_000)), "too_large", L2),
    Case("48-megapixel image", file_bytes(_P1, png_header(8000, 6000)), "too_large", L2),
    Case("16-bit greyscale image", image(_P1, lambda: Image.fromarray(np.full((30, 40), 40000, np.uint16))),
         "unsupported_image", L2),
    Case("floating-point image", image(_P1, lambda: Image.fromarray(np.ones((30, 40), np.float32)), "TIFF"),
         "unsupported_image", L2),
    Case("aspect ratio 400:1", both(image(_P1, lambda: Image.new("RGB", (2000, 5))),
                                    image("masks/p001_0.png", lambda: Image.new("L", (2000, 5), 255))),
         "bad_image_shape", L2),
    # masks
    Case("mask of another size", image(_M2, lambda: Image.new("L", (41, 30), 255)), "mask_size_mismatch", L3),
    Case("all-empty mask", image(_M2, lambda: Image.new("L", (40, 30), 0)), "empty_mask", L3),
    Case("mask drawn in alpha only", image(_M2, _alpha_only_mask), "empty_mask", L3),
    Case("paletted mask, all black", image(_M2, _palette_black_mask), "empty_mask", L3),
    Case("truncated mask", file_bytes(_M2, lambda b: b[: len(b) // 2]), "unreadable_file", L3),
    # probeset.yaml
    Case("invalid YAML", yaml_text("name: [unclosed\nversion: 1\n"), "bad_manifest", f"{YAML} line 2"),
    Case("YAML list", yaml_text("- name\n- version\n"), "bad_manifest", YAML),
    Case("YAML duplicate key", yaml_text("name: a\nversion: '1'\nname: b\n"), "bad_manifest", f"{YAML} line 3"),
    Case("no name", yaml_text("version: '1'\ndefault_prompt: Say.\n"), "missing_field", YAML),
    Case("no version", yaml_text("name: n\ndefault_prompt: Say.\n"), "missing_field", YAML),
    Case("version 1.10 unquoted", yaml_text("name: n\nversion: 1.10\ndefault_prompt: Say.\n"), "bad_field", YAML),
    Case("version a date", yaml_text("name: n\nversion: 2024-01-01\ndefault_prompt: Say.\n"), "bad_field", YAML),
    Case("name a list", yaml_text("name: [a, b]\nversion: '1'\ndefault_prompt: Say.\n"), "bad_field", YAML),
    Case("python tag", yaml_text("name: !!python/object/apply:os.getcwd []\nversion: '1'\n"), "bad_manifest",
         f"{YAML} line 1"),
    Case("two YAML documents", yaml_text("name: a\nversion: '1'\n---\nname: b\n"), "bad_manifest", f"{YAML} line 3"),
    Case("prompts that differ", yaml_text("name: n\nversion: '1'\ndefault_prompt: A.\nprompt: B.\n"),
         "bad_field", YAML),
    Case("NUL in name", yaml_text('name: "a\\0b"\nversion: "1"\ndefault_prompt: Say.\n'), "bad_field", YAML),
    Case("name of 300 characters", yaml_text(f"name: {'n' * 300}\nversion: '1'\ndefault_prompt: Say.\n"),
         "bad_field", YAML),
    Case("YAML alias bomb as name", yaml_text(
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nname: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nversion: '1'\n"
        "default_prompt: Say.\n"), "bad_field", YAML),
    Case("licence and license differ", yaml_text("name: n\nversion: '1'\ndefault_prompt: Say.\nlicence: CC0\n"
                                                 "license: MIT\n"), "bad_field", YAML),
    Case("source a number", yaml_text("name: n\nversion: '1'\ndefault_prompt: Say.\nsource: 7\n"), "bad_field", YAML),
    Case("misspelt default_prompt key", yaml_text("name: n\nversion: '1'\ndefault_promt: Say.\n"),
         "unknown_key", YAML),
]


def _cmyk_jpeg() -> Image.Image:
    return Image.new("RGB", (40, 30), (200, 30, 30)).convert("CMYK")


def _paletted_image() -> Image.Image:
    return Image.new("RGB", (40, 30), (200, 30, 30)).convert("P")


TOLERATED: list[tuple[str, Callable[[Path], None]]] = [
    ("metadata keys", both(field(1, "captions", ["a", "b"]), field(2, "source", {"k": [1, 2.5]}))),
    ("integer id", raw_line(2, json.dumps({"id": 7, "image": _P1, "objects": [
        {"words": ["red", "square"], "mask": "masks/p001_0.png"}]}))),
    ("U+2028 and a line break inside the prompt", field(2, "prompt", "Describe\u2028the\nimage.")),
    ("objects null", field(2, "objects", None)),
    ("paletted, RGBA and greyscale images", both(image(_P1, _paletted_image),
                                                 image("images/p000.png", lambda: Image.new("RGBA", (40, 30))),
                                                 image("images/p002.png", lambda: Image.new("L", (40, 30), 90)))),
    ("CMYK JPEG image", both(image("images/p000.jpg", _cmyk_jpeg, "JPEG"), field(1, "image", "images/p000.jpg"))),
    ("1-bit and 16-bit masks", both(image("masks/p000_0.png", lambda: Image.new("1", (40, 30), 1)),
                                    image(_M2, lambda: Image.fromarray(np.full((30, 40), 1000, np.uint16))))),
    ("symlink inside the folder", both(_symlink("images/alias.png", "p001.png"), field(2, "image", "images/alias.png"))),
    # byte-level variants last: the editors above read and write plain UTF-8 with LF
    ("CRLF line endings", jsonl_bytes(lambda b: b.replace(b"\n", b"\r\n"))),
    ("UTF-8 byte-order marks", both(jsonl_bytes(lambda b: b"\xef\xbb\xbf" + b),
                                    file_bytes(YAML, lambda b: b"\xef\xbb\xbf" + b))),
]
