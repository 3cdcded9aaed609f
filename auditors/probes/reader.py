"""Read and validate a probe-set folder: `probeset.yaml` + `probes.jsonl` + the files they name.

Why one pass that collects every problem: a user fixing a hand-made probe set wants the whole list
(every bad line, every missing mask) at once, not one error per attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from PIL import Image, UnidentifiedImageError

from auditors.probes.hashing import content_hash
from auditors.probes.model import Probe, ProbeObject, ProbeProblem, ProbeSet, ProbeSetError

MANIFEST_NAME = "probeset.yaml"
PROBES_NAME = "probes.jsonl"
_KNOWN_PROBE_KEYS = {"id", "image", "prompt", "objects", "caption"}


@dataclass
class _Parsed:
    name: str = ""
    version: str = ""
    description: str = ""
    default_prompt: str | None = None
    source: str | None = None
    licence: str | None = None
    manifest_read: bool = False  # False: probe-level 'missing prompt' would only repeat the manifest problem
    probes: list[Probe] = field(default_factory=list)
    problems: list[ProbeProblem] = field(default_factory=list)

    def problem(self, code: str, message: str, line: int | None = None, probe_id: str | None = None) -> None:
        self.problems.append(ProbeProblem(code, message, line, probe_id))


def validate_probe_set(path: str | Path) -> list[ProbeProblem]:
    """Every problem of the probe set at `path` (empty list: the set is valid)."""
    return _parse(Path(path)).problems


def load_probe_set(path: str | Path) -> ProbeSet:
    """Load a probe set; raises `ProbeSetError` listing every problem if it is not valid."""
    root = Path(path)
    parsed = _parse(root)
    if parsed.problems:
        raise ProbeSetError(root, parsed.problems)
    files = [probe.image_path for probe in parsed.probes]
    files += [obj.mask_path for probe in parsed.probes for obj in probe.objects]
    return ProbeSet(
        name=parsed.name,
        version=parsed.version,
        description=parsed.description,
        default_prompt=parsed.default_prompt,
        content_hash=content_hash(root, files),
        root=root,
        probes=tuple(parsed.probes),
        source=parsed.source,
        licence=parsed.licence,
    )


def _parse(root: Path) -> _Parsed:
    parsed = _Parsed()
    if not root.is_dir():
        parsed.problem("missing_folder", f"{root} is not a folder")
        return parsed
    _parse_manifest(root, parsed)
    probes_file = root / PROBES_NAME
    if not probes_file.is_file():
        parsed.problem("missing_probes_file", f"{probes_file} does not exist")
        return parsed
    seen_ids: dict[str, int] = {}
    try:
        text = probes_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        parsed.problem("bad_json", f"{PROBES_NAME} is not UTF-8 text ({error})")
        return parsed
    n_records = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        n_records += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.problem("bad_json", f"not valid JSON ({error.msg} at column {error.colno})", line_no)
            continue
        if not isinstance(record, dict):
            parsed.problem("bad_json", f"expected a JSON object, got {type(record).__name__}", line_no)
            continue
        probe = _parse_probe(root, record, line_no, parsed)
        if probe is None:
            continue
        if probe.id in seen_ids:
            parsed.problem(
                "duplicate_id", f"probe id {probe.id!r} already used on line {seen_ids[probe.id]}", line_no, probe.id
            )
            continue
        seen_ids[probe.id] = line_no
        parsed.probes.append(probe)
    if n_records == 0:
        parsed.problem("empty_set", f"{PROBES_NAME} holds no probes")
    return parsed


def _parse_manifest(root: Path, parsed: _Parsed) -> None:
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        parsed.problem("missing_manifest", f"{manifest} does not exist")
        return
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        parsed.problem("bad_manifest", f"{MANIFEST_NAME} is not valid YAML ({error})")
        return
    if not isinstance(data, dict):
        parsed.problem("bad_manifest", f"{MANIFEST_NAME} must be a mapping with name, version, description")
        return
    for key in ("name", "version"):
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            parsed.problem("missing_field", f"{MANIFEST_NAME} has no {key!r}")
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            parsed.problem("bad_field", f"{MANIFEST_NAME} field {key!r} must be text, got {value!r}")
    parsed.manifest_read = True
    parsed.name = str(data.get("name", "") or "")
    parsed.version = str(data.get("version", "") or "")
    description = data.get("description", "")
    if description is not None and not isinstance(description, str):
        parsed.problem("bad_field", f"{MANIFEST_NAME} field 'description' must be text")
    parsed.description = description if isinstance(description, str) else ""
    prompt = data.get("default_prompt", data.get("prompt"))
    if "default_prompt" in data and "prompt" in data and data["default_prompt"] != data["prompt"]:
        parsed.problem("bad_field", f"{MANIFEST_NAME} has both 'default_prompt' and 'prompt' and they differ")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        parsed.problem("bad_field", f"{MANIFEST_NAME} field 'default_prompt' must be non-empty text")
        prompt = None
    parsed.default_prompt = prompt
    parsed.source = _optional_text(data, "source", parsed)
    parsed.licence = _licence(data, parsed)


def _optional_text(data: dict[str, Any], key: str, parsed: _Parsed) -> str | None:
    """An optional free-text manifest field: absent or empty is None, anything but text a problem."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        parsed.problem("bad_field", f"{MANIFEST_NAME} field {key!r} must be text, got {value!r}")
        return None
    return value.strip()


def _licence(data: dict[str, Any], parsed: _Parsed) -> str | None:
    """`licence` (or the American spelling `license`; both given must agree)."""
    british, american = _optional_text(data, "licence", parsed), _optional_text(data, "license", parsed)
    if british and american and british != american:
        parsed.problem("bad_field", f"{MANIFEST_NAME} has both 'licence' and 'license' and they differ")
    return british or american


def _parse_probe(root: Path, record: dict[str, Any], line_no: int, parsed: _Parsed) -> Probe | None:
    probe_id = record.get("id")
    if isinstance(probe_id, int) and not isinstance(probe_id, bool):
        probe_id = str(probe_id)
    if not isinstance(probe_id, str) or not probe_id.strip():
        parsed.problem("missing_field", "probe has no 'id' (a non-empty string)", line_no)
        return None
    ok = True
    image_rel = record.get("image")
    image_size = None
    if not isinstance(image_rel, str) or not image_rel:
        parsed.problem("missing_field", f"probe {probe_id!r} has no 'image' path", line_no, probe_id)
        ok = False
    else:
        image_size = _check_file(root, image_rel, "image", line_no, probe_id, parsed)
        ok = ok and image_size is not None
    prompt = record.get("prompt", parsed.default_prompt)
    if (not isinstance(prompt, str) or not prompt.strip()) and (parsed.manifest_read or "prompt" in record):
        parsed.problem(
            "missing_field",
            f"probe {probe_id!r} has no 'prompt' and {MANIFEST_NAME} has no 'default_prompt'",
            line_no,
            probe_id,
        )
        ok = False
    elif not isinstance(prompt, str) or not prompt.strip():
        ok = False
    caption = record.get("caption")
    if caption is not None and not isinstance(caption, str):
        parsed.problem("bad_field", f"probe {probe_id!r}: 'caption' must be text", line_no, probe_id)
        ok = False
    objects = _parse_objects(root, record.get("objects", []), image_size, line_no, probe_id, parsed)
    if objects is None or not ok:
        return None
    metadata = {key: value for key, value in record.items() if key not in _KNOWN_PROBE_KEYS}
    return Probe(
        id=probe_id,
        image_path=_normalise(image_rel),
        prompt=prompt,
        root=root,
        objects=objects,
        caption=caption,
        metadata=metadata,
    )


def _parse_objects(
    root: Path, raw: Any, image_size: tuple[int, int] | None, line_no: int, probe_id: str, parsed: _Parsed
) -> tuple[ProbeObject, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        parsed.problem("bad_field", f"probe {probe_id!r}: 'objects' must be a list", line_no, probe_id)
        return None
    objects: list[ProbeObject] = []
    ok = True
    for index, obj in enumerate(raw):
        where = f"probe {probe_id!r} object {index}"
        if not isinstance(obj, dict):
            parsed.problem("bad_field", f"{where} must be an object with 'words' and 'mask'", line_no, probe_id)
            ok = False
            continue
        words = obj.get("words")
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(word, str) and word.strip() and " " not in word.strip() for word in words)
        ):
            parsed.problem(
                "missing_field", f"{where} needs 'words': a non-empty list of single words", line_no, probe_id
            )
            ok = False
        mask_rel = obj.get("mask")
        if not isinstance(mask_rel, str) or not mask_rel:
            parsed.problem("missing_field", f"{where} has no 'mask' path", line_no, probe_id)
            ok = False
            continue
        mask_size = _check_file(root, mask_rel, "mask", line_no, probe_id, parsed)
        if mask_size is None:
            ok = False
            continue
        if image_size is not None and mask_size != image_size:
            parsed.problem(
                "mask_size_mismatch",
                f"{where}: mask {mask_rel} is {mask_size[0]}x{mask_size[1]} but the image is "
                f"{image_size[0]}x{image_size[1]} (width x height)",
                line_no,
                probe_id,
            )
            ok = False
        if ok:
            objects.append(ProbeObject(words=tuple(w.strip() for w in words), mask_path=_normalise(mask_rel)))
    return tuple(objects) if ok else None


def _check_file(
    root: Path, rel: str, kind: str, line_no: int, probe_id: str, parsed: _Parsed
) -> tuple[int, int] | None:
    """Check that `rel` stays inside `root` and is a readable image; return its (width, height)."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or Path(rel).is_absolute() or "\\" in rel:
        parsed.problem("path_escape", f"{kind} path {rel!r} must be relative to the probe set folder", line_no, probe_id)
        return None
    target = root / rel
    try:
        inside = target.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside:
        parsed.problem(
            "path_escape", f"{kind} path {rel!r} leaves the probe set folder (via '..' or a link)", line_no, probe_id
        )
        return None
    if not target.is_file():
        parsed.problem("missing_file", f"{kind} file {rel} does not exist", line_no, probe_id)
        return None
    try:
        with Image.open(target) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as error:
        parsed.problem("unreadable_file", f"{kind} file {rel} is not a readable image ({error})", line_no, probe_id)
        return None
    return (width, height)


def _normalise(rel: str) -> str:
    return PurePosixPath(rel).as_posix()
