"""COCO importer on a small COCO-format dataset written by the test (polygons, RLE, captions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from auditors.probes import load_probe_set
from auditors.probes.coco import CocoFormatError, category_words, import_coco


def _uncompressed_rle(mask: np.ndarray) -> list[int]:
    flat = mask.flatten(order="F").astype(np.uint8)  # COCO RLE runs go down columns
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts


def _write_dataset(folder, broken_rle=False):
    images_dir = folder / "images"
    images_dir.mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 20, 30)).save(images_dir / "a.png")
    Image.new("RGB", (20, 16), (90, 20, 30)).save(images_dir / "b.jpg")
    Image.new("RGB", (8, 8)).save(images_dir / "empty.png")
    cat_mask = np.zeros((30, 40), bool)
    cat_mask[20:25, 30:38] = True  # 40 pixels
    counts = _uncompressed_rle(cat_mask)
    if broken_rle:
        counts = counts[:-1]
    from pycocotools import mask as mask_utils

    light = np.zeros((16, 20), np.uint8)
    light[2:6, 3:13] = 1  # 40 pixels
    compressed = mask_utils.encode(np.asfortranarray(light))
    instances = {
        "images": [
            {"id": 7, "file_name": "b.jpg", "width": 20, "height": 16},
            {"id": 3, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 9, "file_name": "empty.png", "width": 8, "height": 8},
        ],
        "categories": [{"id": 18, "name": "dog"}, {"id": 17, "name": "cat"}, {"id": 10, "name": "traffic light"}],
        "annotations": [
            {"id": 1, "image_id": 3, "category_id": 18, "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]], "iscrowd": 0},
            {"id": 2, "image_id": 3, "category_id": 18, "segmentation": [[20, 2, 24, 2, 24, 6, 20, 6]], "iscrowd": 0},
            {"id": 3, "image_id": 3, "category_id": 17, "segmentation": {"counts": counts, "size": [30, 40]}, "iscrowd": 1},
            {"id": 4, "image_id": 7, "category_id": 10,
             "segmentation": {"counts": compressed["counts"].decode(), "size": [16, 20]}, "iscrowd": 1},
        ],
    }
    captions = {
        "annotations": [
            {"id": 12, "image_id": 3, "caption": "Two dogs and a cat. "},
            {"id": 11, "image_id": 3, "caption": "A cat near dogs."},
            {"id": 13, "image_id": 7, "caption": "A traffic light."},
        ]
    }
    (folder / "instances.json").write_text(json.dumps(instances))
    (folder / "captions.json").write_text(json.dumps(captions))
    return folder / "instances.json", folder / "captions.json", images_dir


def test_import_builds_a_valid_probe_set_with_masks_words_and_captions(tmp_path):
    instances, captions, images = _write_dataset(tmp_path / "coco")
    probe_set = import_coco(instances, captions, images, tmp_path / "probes", name="coco-mini")
    assert load_probe_set(tmp_path / "probes").content_hash == probe_set.content_hash
    assert [p.id for p in probe_set.probes] == ["coco_3", "coco_7"]  # by id; the empty image skipped
    first = probe_set.get("coco_3")
    assert first.caption == "A cat near dogs."  # lowest caption id
    assert first.metadata["captions"] == ["A cat near dogs.", "Two dogs and a cat."]
    assert first.prompt == "Describe the image."
    words = [obj.words for obj in first.objects]
    assert words == [("cat", "cats"), ("dog", "dogs")]  # by category id, instances merged
    cat, dog = first.load_mask(0), first.load_mask(1)
    assert cat.shape == (30, 40) and cat.sum() == 40 and cat[20:25, 30:38].all()
    assert dog[2:10, 2:12].all() and dog[2:6, 20:24].all() and not dog[15:, :].any()
    assert 80 <= dog.sum() <= 80 + 10 + 16 + 12  # two polygons (rasteriser includes part of the border)
    second = probe_set.get("coco_7")
    assert second.objects[0].words == ("traffic", "light", "lights")
    assert second.load_mask(0).sum() == 40 and second.load_image().size == (20, 16)
    limited = import_coco(instances, None, images, tmp_path / "one", name="x", limit=1)
    assert [p.id for p in limited.probes] == ["coco_3"] and limited.probes[0].caption is None


def test_import_reports_bad_input_clearly(tmp_path):
    instances, captions, images = _write_dataset(tmp_path / "coco", broken_rle=True)
    with pytest.raises(CocoFormatError, match="annotation 3: RLE counts sum"):
        import_coco(instances, captions, images, tmp_path / "probes", name="x")
    assert not (tmp_path / "probes").exists()
    instances2, captions2, images2 = _write_dataset(tmp_path / "coco2")
    (images2 / "a.png").unlink()
    with pytest.raises(CocoFormatError, match=r"image 3 .*a.png"):
        import_coco(instances2, captions2, images2, tmp_path / "probes", name="x")
    with pytest.raises(CocoFormatError, match="unknown image ids"):
        import_coco(instances2, captions2, images2, tmp_path / "probes", name="x", image_ids=[99])
    with pytest.raises(CocoFormatError, match="does not exist"):
        import_coco(tmp_path / "nope.json", None, images2, tmp_path / "probes", name="x")


def test_category_words():
    assert category_words("person") == ["person", "people"]
    assert category_words("bus") == ["bus", "buses"]
    assert category_words("teddy bear") == ["teddy", "bear", "bears"]
    assert category_words("hot-dog") == ["hot", "dog", "dogs"]


def test_import_carries_the_datasets_source_and_the_imported_images_licences(tmp_path):
    instances, captions, images = _write_dataset(tmp_path / "coco")
    data = json.loads(instances.read_text())
    data["info"] = {"description": "Mini COCO", "url": "http://example.org/coco", "year": 2017}
    data["licenses"] = [{"id": 1, "name": "CC BY 2.0", "url": "http://creativecommons.org/licenses/by/2.0/"},
                        {"id": 2, "name": "CC BY-NC 2.0"}, {"id": 5, "name": "never used"}]
    for image, licence in zip(data["images"], (2, 1, 5)):  # ids 7, 3, 9 (9 has no objects: not imported)
        image["license"] = licence
    instances.write_text(json.dumps(data))
    probe_set = import_coco(instances, captions, images, tmp_path / "probes", name="coco-mini")
    assert probe_set.source == "Mini COCO, http://example.org/coco"
    assert probe_set.licence == "CC BY 2.0 http://creativecommons.org/licenses/by/2.0/; CC BY-NC 2.0"
    assert load_probe_set(tmp_path / "probes").licence == probe_set.licence  # written to the manifest
    named = import_coco(instances, captions, images, tmp_path / "named", name="x", source="our copy", licence="ours")
    assert (named.source, named.licence) == ("our copy", "ours")  # the caller's word wins

    data["images"][0]["license"] = 4  # an image naming terms the file does not state
    instances.write_text(json.dumps(data))
    with pytest.raises(CocoFormatError, match=r"licence ids \[4\]"):
        import_coco(instances, captions, images, tmp_path / "bad", name="x")
    assert not (tmp_path / "bad").exists()


def test_a_file_without_provenance_leaves_it_empty(tmp_path):
    instances, captions, images = _write_dataset(tmp_path / "coco")
    probe_set = import_coco(instances, captions, images, tmp_path / "probes", name="coco-mini")
    assert (probe_set.source, probe_set.licence) == (None, None)
