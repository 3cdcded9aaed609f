"""Read and validate a probe-set folder: `probeset.yaml` + `probes.jsonl` + the files they name.

Why one reader for validation and loading: `mllm-audit probes validate`, the audit's validation
step and the audit itself all go through `load_probe_set`/`validate_probe_set`, which read every file
as the audit uses it (text decoded strictly, JSON without NaN or duplicate keys, every image and
mask decoded whole by `auditors.probes.files`, the limits of `auditors.probes.rules`), so what
passes here cannot fail later for the same reason. It collects every problem in one pass, each with
its file and line: a user fixing a hand-made set wants the whole list at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from auditors.probes.files import FileProblem, absent_file_message, decode_image, decode_mask, read_text
from auditors.probes.hashing import content_hash
from auditors.probes.manifest import MANIFEST_NAME, Header, read_header
from auditors.probes.model import Probe, ProbeObject, ProbeProblem, ProbeSet, ProbeSetError
from auditors.probes.rules import (MAX_LINE_CHARS, MAX_PROBES, MAX_PROBES_FILE_BYTES, MAX_PROMPT_CHARS, OBJECT_KEYS,
                                   PROBE_KEYS, id_problem, kind, text_problem, unknown_key_problem, word_problem)

PROBES_NAME = "probes.jsonl"
__all__ = ["MANIFEST_NAME", "PROBES_NAME", "load_probe_set", "validate_probe_set"]


@dataclass
class _Parsed:
    header: Header
    root: Path
    probes: list[Probe] = field(default_factory=list)
    problems: list[ProbeProblem] = field(default_factory=list)

    def problem(self, code: str, message: str, line: int | None = None, probe_id: str | None = None) -> None:
        self.problems.append(ProbeProblem(code, message, line, probe_id))


def validate_probe_set(path: str | Path) -> list[ProbeProblem]:
    """Every problem of the probe set at `path` (empty list: the set is valid)."""
    return _parse(Path(path).expanduser())


def load_probe_set(path: str | Path) -> ProbeSet:
    """Load a probe set; raises `ProbeSetError` listing every problem if it is not valid."""
    root = Path(path).expanduser()
    parsed = _Parsed(Header(), root)
    problems = _parse(root, parsed)
    if problems:
        raise ProbeSetError(root, problems)
    files = [probe.image_path for probe in parsed.probes]
    files += [obj.mask_path for probe in parsed.probes for obj in probe.objects]
    header = parsed.header
    return ProbeSet(name=header.name, version=header.version, description=header.description,
                    default_prompt=header.default_prompt, content_hash=content_hash(root, files), root=root,
                    probes=tuple(parsed.probes), source=header.source, licence=header.licence,
                    word_classes=dict(header.word_classes), ordered_objects=header.ordered_objects)


def _parse(root: Path, parsed: _Parsed | None = None) -> list[ProbeProblem]:
    parsed = parsed or _Parsed(Header(), root)
    if not root.is_dir():
        return [ProbeProblem("missing_folder", f"{root} is not a folder", file=None)]
    parsed.header = read_header(root)
    parsed.root = root.resolve()
    _parse_probes_file(parsed)
    return parsed.header.problems + parsed.problems


def _parse_probes_file(parsed: _Parsed) -> None:
    path = parsed.root / PROBES_NAME
    if not path.is_file():
        parsed.problem("missing_probes_file", absent_file_message(parsed.root, PROBES_NAME))
        return
    try:
        text = read_text(path, MAX_PROBES_FILE_BYTES)
    except FileProblem as problem:
        parsed.problem(problem.code, str(problem))
        return
    seen: dict[str, tuple[str, int]] = {}  # lower-cased id -> (id, line): ids are file names
    n_records = 0
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may sit in a string
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        n_records += 1
        if n_records > MAX_PROBES:
            parsed.problem("too_large", f"more than {MAX_PROBES:,} probes", line_no)
            return
        record = _json_object(line, line_no, parsed)
        if record is None:
            continue
        probe = _parse_probe(record, line_no, parsed)
        if probe is None:
            continue
        first = seen.get(probe.id.lower())
        if first is not None:
            same = first[0] == probe.id
            parsed.problem("duplicate_id", f"probe id {probe.id!r} already used on line {first[1]}" if same else
                           f"probe id {probe.id!r} differs from {first[0]!r} (line {first[1]}) only in letter case "
                           "(ids become file names)", line_no, probe.id)
            continue
        seen[probe.id.lower()] = (probe.id, line_no)
        parsed.probes.append(probe)
    if n_records == 0:
        parsed.problem("empty_set", f"{PROBES_NAME} holds no probes", None)


class _JsonProblem(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise _JsonProblem(f"key {duplicates[0]!r} appears twice in one object (the second would silently win)")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JsonProblem(f"the number {text[:20]} is too large")
    return value


def _json_object(line: str, line_no: int, parsed: _Parsed) -> dict[str, Any] | None:
    """The line as a JSON object, or None after recording why it is not one."""
    if len(line) > MAX_LINE_CHARS:
        parsed.problem("bad_json", f"line is {len(line):,} characters long (at most {MAX_LINE_CHARS:,})", line_no)
        return None
    if "\r" in line:
        parsed.problem("bad_json", "bare carriage return inside the line: end lines with LF or CRLF", line_no)
        return None
    try:
        record = json.loads(line, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant,
                            parse_float=_finite)
    except json.JSONDecodeError as error:
        parsed.problem("bad_json", f"not valid JSON ({error.msg} at column {error.colno})", line_no)
        return None
    except _JsonProblem as error:
        parsed.problem("bad_json", str(error), line_no)
        return None
    except (ValueError, RecursionError) as error:  # e.g. an integer of more than 4300 digits, deep nesting
        parsed.problem("bad_json", f"not usable JSON ({' '.join(str(error).split())[:120] or 'nested too deeply'})",
                       line_no)
        return None
    if not isinstance(record, dict):
        parsed.problem("bad_json", f"expected a JSON object, got {kind(record)}", line_no)
        return None
    return record


def _parse_probe(record: dict[str, Any], line_no: int, parsed: _Parsed) -> Probe | None:
    raw_id = record.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    id_error = "probe has no 'id'" if raw_id is None else id_problem(raw_id)
    if id_error:
        parsed.problem("missing_field" if raw_id is None else "bad_id", id_error, line_no)
        return None
    probe_id: str = raw_id

    def problem(code: str, message: str) -> None:
        parsed.problem(code, f"probe {probe_id!r}: {message}", line_no, probe_id)

    n_before = len(parsed.problems)
    for key in record:
        if unknown := unknown_key_problem(key, PROBE_KEYS, "line", strict=False):
            problem("unknown_key", unknown)
    image_rel = record.get("image")
    image_size = None
    image_path = _inside(image_rel, "image", problem, parsed.root)
    if image_path is not None:
        try:
            image_size = decode_image(image_path, image_rel).size
        except FileProblem as error:
            problem(error.code, str(error))
    prompt = _prompt(record, problem, parsed.header)
    caption = record.get("caption")
    if caption is not None and (error := text_problem(caption, "'caption'", MAX_PROMPT_CHARS, line_breaks=True)):
        problem("bad_field", error)
    objects = _parse_objects(record.get("objects"), image_size, problem, parsed.root)
    if len(parsed.problems) > n_before or objects is None or image_path is None or prompt is None:
        return None
    metadata = {key: value for key, value in record.items() if key not in PROBE_KEYS}
    return Probe(id=probe_id, image_path=_normalise(image_rel), prompt=prompt, root=parsed.root, objects=objects,
                 caption=caption, metadata=metadata)


def _prompt(record: dict[str, Any], problem: Any, header: Header) -> str | None:
    if "prompt" in record:
        error = text_problem(record["prompt"], "'prompt'", MAX_PROMPT_CHARS, line_breaks=True)
        if error:
            problem("bad_field", error)
            return None
        return record["prompt"]
    if header.default_prompt is None and header.read:  # unread header: its own problem says enough
        problem("missing_field", f"has no 'prompt' and {MANIFEST_NAME} has no 'default_prompt'")
    return header.default_prompt


def _parse_objects(raw: Any, image_size: tuple[int, int] | None, problem: Any, root: Path) -> tuple[ProbeObject, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problem("bad_field", f"'objects' must be a list, got {kind(raw)}")
        return None
    objects: list[ProbeObject] = []
    for index, obj in enumerate(raw):
        where = f"object {index}"
        if not isinstance(obj, dict):
            problem("bad_field", f"{where} must be a JSON object with 'words' and 'mask', got {kind(obj)}")
            continue
        for key in obj:
            if unknown := unknown_key_problem(key, OBJECT_KEYS, where, strict=True):
                problem("unknown_key", unknown)
        words = obj.get("words")
        word_errors = ([f"'words' must be a non-empty list of words, got {kind(words)}"]
                       if not isinstance(words, list) or not words else
                       [e for e in (word_problem(w) for w in words) if e])
        for error in word_errors:
            problem("bad_field" if words else "missing_field", f"{where}: {error}")
        mask_rel = obj.get("mask")
        mask_path = _inside(mask_rel, f"{where} mask", problem, root)
        if mask_path is None:
            continue
        try:
            mask = decode_mask(mask_path, mask_rel)
        except FileProblem as error:
            problem(error.code, f"{where}: {error}")
            continue
        height, width = mask.shape
        if image_size is not None and (width, height) != image_size:
            problem("mask_size_mismatch", f"{where}: mask {mask_rel} is {width}x{height} but the image is "
                                          f"{image_size[0]}x{image_size[1]} (width x height)")
        elif not mask.any():
            problem("empty_mask", f"{where}: mask {mask_rel} has no foreground pixel (foreground is any non-zero "
                                  "grey value; alpha and palette indices are not read)")
        elif not word_errors:
            objects.append(ProbeObject(words=tuple(words), mask_path=_normalise(mask_rel)))
    return tuple(objects) if len(objects) == len(raw) else None


def _inside(rel: Any, what: str, problem: Any, root: Path) -> Path | None:
    """The file `rel` names, when it is a relative path to a regular file inside `root`."""
    if rel is None or rel == "":
        problem("missing_field", f"has no {what} path")
        return None
    if error := text_problem(rel, f"{what} path", 1024):
        problem("bad_field", error)
        return None
    if PurePosixPath(rel).is_absolute() or "\\" in rel or (len(rel) > 1 and rel[1] == ":"):
        problem("path_escape", f"{what} path {rel!r} must be relative to the probe set folder, with '/'")
        return None
    try:
        target = (root / rel).resolve()
        inside = target.is_relative_to(root)
        is_file, exists = target.is_file(), target.exists()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a name too long
        problem("missing_file", f"{what} {rel} cannot be resolved ({' '.join(str(error).split())[:120]})")
        return None
    if not inside:
        problem("path_escape", f"{what} path {rel!r} leaves the probe set folder (via '..' or a link)")
        return None
    if not is_file:
        problem("missing_file", f"{what} file {rel} " + ("is not a regular file" if exists else "does not exist"))
        return None
    return target


def _normalise(rel: str) -> str:
    return PurePosixPath(rel).as_posix()
