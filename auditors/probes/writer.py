"""Create a probe-set folder from in-memory images and masks (used by importers and demo builders).

Why write to a temporary sibling folder and rename: a crash or a bad probe halfway must never leave
a half-written probe set behind that a later run would load and hash as if it were complete.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import yaml
from PIL import Image

from auditors.probes.model import ProbeProblem, ProbeSet, ProbeSetError
from auditors.probes.reader import MANIFEST_NAME, PROBES_NAME, load_probe_set
from auditors.probes.rules import PROBE_KEYS, id_problem, word_problem


@dataclass
class ObjectDraft:
    """An object to write: the words that name it and its mask (bool/0-1/0-255 array or PIL image)."""

    words: Sequence[str]
    mask: np.ndarray | Image.Image


@dataclass
class ProbeDraft:
    """A probe to write. `prompt=None` uses the set's default prompt."""

    id: str
    image: Image.Image | np.ndarray
    prompt: str | None = None
    objects: Sequence[ObjectDraft] = ()
    caption: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def write_probe_set(
    dest: str | Path,
    probes: Iterable[ProbeDraft],
    *,
    name: str,
    version: str,
    description: str = "",
    default_prompt: str | None = None,
    overwrite: bool = False,
    word_classes: Mapping[str, Sequence[str]] | None = None,
    ordered_objects: bool = False,
    source: str | None = None,
    licence: str | None = None,
) -> ProbeSet:
    """Write `probes` as a probe-set folder at `dest` and return it loaded (and so validated).

    Images are written as PNG (`images/<id>.png`), masks as 0/255 greyscale PNG
    (`masks/<id>_<k>.png`). `source` and `licence` say where the images came from and under which
    terms (written to the manifest when given); `word_classes` (class -> words) and
    `ordered_objects` go into the manifest too (see `ProbeSet`). Raises `ProbeSetError` for bad
    drafts (nothing is written then) and `FileExistsError` if `dest` exists and `overwrite` is false.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} already exists (pass overwrite=True to replace it)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        manifest = _manifest(name, version, description, default_prompt, source, licence, word_classes,
                             ordered_objects)
        _write_into(staging, list(probes), manifest, default_prompt)
        load_probe_set(staging)  # validate before publishing
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
            old.rmdir()
            dest.rename(old)
            staging.rename(dest)
            shutil.rmtree(old)
        else:
            staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_probe_set(dest)


def _manifest(name: str, version: str, description: str, default_prompt: str | None, source: str | None,
              licence: str | None, word_classes: Mapping[str, Sequence[str]] | None = None,
              ordered_objects: bool = False) -> dict[str, Any]:
    """The probeset.yaml content: optional keys only when given."""
    manifest: dict[str, Any] = {"name": name, "version": str(version), "description": description}
    optional = {"default_prompt": default_prompt, "source": source, "licence": licence}
    manifest.update({key: value for key, value in optional.items() if value is not None})
    if word_classes:
        manifest["word_classes"] = {str(k): [str(w) for w in v] for k, v in word_classes.items()}
    if ordered_objects:
        manifest["ordered_objects"] = True
    return manifest


def _write_into(folder: Path, probes: list[ProbeDraft], manifest: dict[str, Any], default_prompt: str | None) -> None:
    problems = _check_drafts(probes, default_prompt)
    if problems:
        raise ProbeSetError(folder, problems)
    (folder / "images").mkdir()
    (folder / "masks").mkdir()
    (folder / MANIFEST_NAME).write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), "utf-8")
    lines = []
    for probe in probes:
        image = _as_rgb(probe.image)
        image_rel = f"images/{probe.id}.png"
        image.save(folder / image_rel, format="PNG")
        record: dict[str, Any] = {"id": probe.id, "image": image_rel}
        if probe.prompt is not None:
            record["prompt"] = probe.prompt
        objects = []
        for index, obj in enumerate(probe.objects):
            mask_rel = f"masks/{probe.id}_{index}.png"
            Image.fromarray(_as_bool_mask(obj.mask).astype(np.uint8) * 255, mode="L").save(folder / mask_rel)
            objects.append({"words": [str(word) for word in obj.words], "mask": mask_rel})
        if objects:
            record["objects"] = objects
        if probe.caption is not None:
            record["caption"] = probe.caption
        record.update(probe.metadata)
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=False))
    (folder / PROBES_NAME).write_text("\n".join(lines) + "\n", "utf-8")


def _check_drafts(probes: list[ProbeDraft], default_prompt: str | None) -> list[ProbeProblem]:
    problems: list[ProbeProblem] = []
    if not probes:
        problems.append(_problem("empty_set", "no probes to write"))
    seen: set[str] = set()
    for probe in probes:
        if error := id_problem(probe.id):
            problems.append(_problem("bad_id", error))
            continue
        if probe.id.lower() in seen:
            problems.append(_problem("duplicate_id", f"probe id {probe.id!r} appears twice (letter case aside)",
                                     probe.id))
        seen.add(probe.id.lower())
        if probe.prompt is None and default_prompt is None:
            problems.append(_problem("missing_field", f"probe {probe.id!r} has no prompt and no default prompt", probe.id))
        clash = set(PROBE_KEYS) & set(probe.metadata)
        if clash:
            problems.append(_problem("bad_field", f"probe {probe.id!r} metadata reuses keys {sorted(clash)}", probe.id))
        width, height = _as_rgb(probe.image).size
        for index, obj in enumerate(probe.objects):
            words = list(obj.words)
            errors = [e for e in (word_problem(w) for w in words) if e] or ([] if words else ["no words"])
            if errors:
                problems.append(_problem("missing_field", f"probe {probe.id!r} object {index}: {errors[0]}", probe.id))
            mask = _as_bool_mask(obj.mask)
            if mask.shape != (height, width):
                problems.append(_problem("mask_size_mismatch", f"probe {probe.id!r} object {index}: mask is "
                                         f"{mask.shape[1]}x{mask.shape[0]}, image is {width}x{height} (width x height)",
                                         probe.id))
    return problems


def _problem(code: str, message: str, probe_id: str | None = None) -> ProbeProblem:
    """A problem of a draft (no file exists yet)."""
    return ProbeProblem(code, message, None, probe_id, file=None)


def _as_rgb(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ProbeSetError(Path("."), [_problem("bad_field", f"image arrays must be uint8, got {array.dtype}")])
    return Image.fromarray(array).convert("RGB")


def _as_bool_mask(mask: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(mask, Image.Image):
        return np.asarray(mask.convert("L")) > 0
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ProbeSetError(Path("."), [_problem("bad_field", f"masks must be 2-D, got shape {array.shape}")])
    return array > 0
