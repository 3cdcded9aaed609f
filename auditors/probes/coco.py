"""Import a COCO-format dataset (instances JSON + captions JSON + image folder) as a probe set.

Why one object per category per image: the TAM protocol scores a word against the mask of its
category (all instances together: "dogs" names both dogs), so the importer unions the instances of
a category. Object words are the category name's words plus the plural of its last word ("traffic
light" -> traffic, light, lights), since captions say "two dogs". The reference caption is the
image's first caption (lowest annotation id); all of them go into the probe's `captions` field.
Masks are decoded with pycocotools (polygons, uncompressed and compressed RLE), the reference
implementation of the format.

Provenance: the probe set's `source` and `licence` (which a compliance dossier shows a reviewer) come
from the file's own `info` and `licenses` entries unless the caller names them: the source is the
dataset's description and URL, the licence the distinct licences of the imported images (COCO gives
each image a licence id). Nothing is invented: a file without them leaves them empty.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from auditors.errors import AuditorInputError
from auditors.probes.model import ProbeSet
from auditors.probes.writer import ObjectDraft, ProbeDraft, write_probe_set

_IRREGULAR_PLURALS = {"person": "people", "mouse": "mice", "knife": "knives", "sheep": "sheep", "bus": "buses"}


class CocoFormatError(AuditorInputError):
    """The COCO files do not describe a usable dataset (the message names the file and entry)."""


def category_words(name: str) -> list[str]:
    """Object words for a COCO category name: its words plus the plural of the last one."""
    words = [w for w in name.lower().replace("-", " ").split() if w]
    if not words:
        return []
    last = words[-1]
    if last in _IRREGULAR_PLURALS:
        plural = _IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        plural = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return list(dict.fromkeys(words + [plural]))


def decode_segmentation(segmentation: Any, height: int, width: int, where: str) -> np.ndarray:
    """Bool mask [height, width] of a COCO segmentation (polygon list, or RLE with list/str counts)."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
        if len(polygons) != len(segmentation) or not polygons:
            raise CocoFormatError(f"{where}: polygons need an even number (>= 6) of coordinates")
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        size = segmentation.get("size")
        if list(size or []) != [height, width]:
            raise CocoFormatError(f"{where}: RLE size {size} differs from the image's [{height}, {width}]")
        counts = segmentation["counts"]
        if isinstance(counts, list):
            if sum(counts) != height * width:
                raise CocoFormatError(f"{where}: RLE counts sum to {sum(counts)}, expected {height * width}")
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(counts, (str, bytes)):
            rle = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
        else:
            raise CocoFormatError(f"{where}: RLE counts must be a list or a string")
    else:
        raise CocoFormatError(f"{where}: segmentation must be polygons or RLE")
    with warnings.catch_warnings():  # pycocotools 2.0.x trips numpy 2's __array__ copy deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def import_coco(
    instances_json: str | Path,
    captions_json: str | Path | None,
    image_dir: str | Path,
    dest: str | Path,
    *,
    name: str,
    version: str = "1",
    description: str = "",
    prompt: str = "Describe the image.",
    image_ids: Sequence[int] | None = None,
    limit: int | None = None,
    require_objects: bool = True,
    overwrite: bool = False,
    source: str | None = None,
    licence: str | None = None,
) -> ProbeSet:
    """Build a probe set at `dest` from COCO files; returns it loaded.

    `image_ids` picks images (default: all, by id); `limit` keeps the first N; images without any
    annotation are skipped unless `require_objects` is false. `source` and `licence` default to what
    the instances file declares (`dataset_source`, `dataset_licence`).
    """
    instances = _read_json(instances_json)
    captions = _read_json(captions_json) if captions_json is not None else {"annotations": []}
    image_dir = Path(image_dir)
    probes = list(_drafts(instances, captions, image_dir, image_ids, limit, require_objects, str(instances_json)))
    if not probes:
        raise CocoFormatError(f"{instances_json}: no image with annotations to import")
    description = description or f"Imported from COCO-format files {Path(instances_json).name}"
    imported = {probe.metadata["coco_image_id"] for probe in probes}
    return write_probe_set(
        dest, probes, name=name, version=version, description=description, default_prompt=prompt, overwrite=overwrite,
        source=source or dataset_source(instances),
        licence=licence or dataset_licence(instances, imported, str(instances_json)),
    )


def dataset_source(instances: dict) -> str | None:
    """The dataset's own description and URL from its `info` entry, or None."""
    info = instances.get("info")
    if not isinstance(info, dict):
        return None
    parts = [str(info[key]).strip() for key in ("description", "url") if info.get(key)]
    return ", ".join(p for p in parts if p) or None


def dataset_licence(instances: dict, image_ids: set[int], where: str) -> str | None:
    """The distinct licences (name and URL) of the imported images, from the `licenses` list, or None.

    An image naming a licence id the list lacks is an error: the probe set would claim terms the file
    does not state."""
    licences = instances.get("licenses")
    if not isinstance(licences, list):
        return None
    by_id = {entry.get("id"): entry for entry in licences if isinstance(entry, dict)}
    used = sorted({image.get("license") for image in instances["images"]
                   if image.get("id") in image_ids and image.get("license") is not None}, key=str)
    unknown = [ident for ident in used if ident not in by_id]
    if unknown:
        raise CocoFormatError(f"{where}: images name licence ids {unknown} that 'licenses' does not list")
    names = [" ".join(str(by_id[ident][key]).strip() for key in ("name", "url") if by_id[ident].get(key))
             for ident in used]
    return "; ".join(dict.fromkeys(n for n in names if n)) or None


def _drafts(instances, captions, image_dir, image_ids, limit, require_objects, source) -> Iterator[ProbeDraft]:
    for key in ("images", "annotations", "categories"):
        if not isinstance(instances.get(key), list):
            raise CocoFormatError(f"{source}: missing list {key!r}")
    categories = {}
    for category in instances["categories"]:
        if "id" not in category or not category.get("name"):
            raise CocoFormatError(f"{source}: category without id or name: {category}")
        categories[category["id"]] = category["name"]
    by_image: dict[int, list[dict]] = {}
    for annotation in instances["annotations"]:
        by_image.setdefault(annotation.get("image_id"), []).append(annotation)
    caption_lists: dict[int, list[tuple[int, str]]] = {}
    for annotation in captions.get("annotations", []):
        if isinstance(annotation.get("caption"), str):
            caption_lists.setdefault(annotation.get("image_id"), []).append(
                (annotation.get("id", 0), annotation["caption"].strip())
            )
    images = sorted(instances["images"], key=lambda image: image["id"])
    if image_ids is not None:
        wanted = set(image_ids)
        unknown = wanted - {image["id"] for image in images}
        if unknown:
            raise CocoFormatError(f"{source}: unknown image ids {sorted(unknown)}")
        images = [image for image in images if image["id"] in wanted]
    count = 0
    for info in images:
        if limit is not None and count >= limit:
            return
        annotations = sorted(by_image.get(info["id"], []), key=lambda a: a.get("id", 0))
        if require_objects and not annotations:
            continue
        yield _draft(info, annotations, categories, caption_lists.get(info["id"], []), image_dir, source)
        count += 1


def _draft(info, annotations, categories, captions, image_dir: Path, source: str) -> ProbeDraft:
    path = image_dir / info["file_name"]
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (FileNotFoundError, UnidentifiedImageError, OSError) as error:
        raise CocoFormatError(f"{source}: image {info['id']} ({path}) cannot be read: {error}") from error
    width, height = rgb.size
    if (info.get("width"), info.get("height")) not in ((width, height), (None, None)):
        raise CocoFormatError(
            f"{source}: image {info['id']} is {width}x{height} on disk but {info.get('width')}x{info.get('height')} in the JSON"
        )
    masks: dict[int, np.ndarray] = {}
    for annotation in annotations:
        category = annotation.get("category_id")
        if category not in categories:
            raise CocoFormatError(f"{source}: annotation {annotation.get('id')} has unknown category {category}")
        where = f"{source}: annotation {annotation.get('id')}"
        mask = decode_segmentation(annotation.get("segmentation"), height, width, where)
        masks[category] = masks.get(category, np.zeros((height, width), bool)) | mask
    objects = [
        ObjectDraft(category_words(categories[category]), mask)
        for category, mask in sorted(masks.items())
        if mask.any()
    ]
    ordered = [text for _, text in sorted(captions)]
    return ProbeDraft(
        id=f"coco_{info['id']}",
        image=rgb,
        objects=objects,
        caption=ordered[0] if ordered else None,
        metadata={"coco_image_id": info["id"], "file_name": info["file_name"], "captions": ordered},
    )


def _read_json(path: str | Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CocoFormatError(f"{path} does not exist") from None
    except json.JSONDecodeError as error:
        raise CocoFormatError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise CocoFormatError(f"{path} must hold a JSON object")
    return data
