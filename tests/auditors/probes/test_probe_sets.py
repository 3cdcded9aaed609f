"""Probe-set format: writing, loading, validation problems and the content hash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from auditors.probes import (
    ObjectDraft,
    ProbeDraft,
    ProbeSetError,
    load_probe_set,
    validate_probe_set,
    write_probe_set,
)
from tests.auditors.probes.helpers import square_probe, write_small_set


def _codes(path: Path) -> list[str]:
    return [problem.code for problem in validate_probe_set(path)]


def _rewrite_lines(path: Path, edit) -> None:
    lines = [json.loads(line) for line in (path / "probes.jsonl").read_text().splitlines()]
    lines = edit(lines)
    (path / "probes.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def test_written_set_loads_with_probes_masks_and_default_prompt(tmp_path):
    written = write_small_set(tmp_path / "set", n=3)
    loaded = load_probe_set(tmp_path / "set")
    assert loaded.name == "small" and loaded.version == "1"
    assert [p.id for p in loaded.probes] == ["p000", "p001", "p002"]
    probe = loaded.get("p001")
    assert probe.prompt == "Describe the image."
    assert probe.caption == "a red square"
    assert probe.objects[0].words == ("red", "square")
    mask = probe.load_mask(0)
    assert mask.dtype == bool and mask.shape == (30, 40)
    assert mask.sum() == 10 * 10 and mask[3, 3] and not mask[0, 0]
    image = probe.load_image()
    assert image.mode == "RGB" and image.size == (40, 30)
    assert np.asarray(image)[5, 5].tolist() == [200, 30, 30]
    assert written.content_hash == loaded.content_hash and len(loaded.content_hash) == 64
    assert loaded.noun_vocabulary() == {"red", "square"}


def test_content_hash_is_stable_and_changes_with_any_referenced_byte(tmp_path):
    first = write_small_set(tmp_path / "a")
    second = write_small_set(tmp_path / "b")
    assert first.content_hash == second.content_hash  # same content, different folder
    mask_file = tmp_path / "b" / "masks" / "p001_0.png"
    mask = np.asarray(Image.open(mask_file)).copy()
    mask[0, 0] = 255
    Image.fromarray(mask).save(mask_file)
    assert load_probe_set(tmp_path / "b").content_hash != first.content_hash
    manifest = tmp_path / "a" / "probeset.yaml"
    manifest.write_text(manifest.read_text().replace("small", "renamed"))
    assert load_probe_set(tmp_path / "a").content_hash != first.content_hash


def test_missing_manifest_and_missing_probes_file(tmp_path):
    write_small_set(tmp_path / "set")
    (tmp_path / "set" / "probeset.yaml").unlink()
    assert _codes(tmp_path / "set") == ["missing_manifest"]
    (tmp_path / "set" / "probes.jsonl").unlink()
    assert _codes(tmp_path / "set") == ["missing_manifest", "missing_probes_file"]
    assert _codes(tmp_path / "nowhere") == ["missing_folder"]


def test_a_missing_file_is_named_without_a_wrong_cure(tmp_path):
    root = tmp_path / "set"
    write_small_set(root)
    (root / "probes.jsonl").rename(root / "probes-old.jsonl")
    (message,) = [str(p) for p in validate_probe_set(root)]
    assert message.endswith("probes.jsonl does not exist [missing_probes_file]")  # not "found probeset.yaml: rename it"
    (root / "probes-old.jsonl").rename(root / "Probes.JSONL")
    assert "(found Probes.JSONL: rename it)" in str(validate_probe_set(root)[0])
    (root / "probeset.yaml").rename(root / "probes.jsonl")  # a folder or another file where the file should be
    (root / "probeset.yaml").mkdir()
    assert any(str(p).endswith("probeset.yaml is not a regular file [missing_manifest]") for p in validate_probe_set(root))


def test_missing_image_and_mask_files_are_reported_per_line(tmp_path):
    write_small_set(tmp_path / "set")
    (tmp_path / "set" / "images" / "p000.png").unlink()
    (tmp_path / "set" / "masks" / "p002_0.png").unlink()
    problems = validate_probe_set(tmp_path / "set")
    assert [(p.code, p.line, p.probe_id) for p in problems] == [
        ("missing_file", 1, "p000"),
        ("missing_file", 3, "p002"),
    ]
    assert "images/p000.png" in problems[0].message and "masks/p002_0.png" in problems[1].message
    with pytest.raises(ProbeSetError) as error:
        load_probe_set(tmp_path / "set")
    assert len(error.value.problems) == 2
    assert "line 1" in str(error.value) and "line 3" in str(error.value)


def test_mask_size_differing_from_image_size(tmp_path):
    write_small_set(tmp_path / "set")
    Image.fromarray(np.zeros((30, 41), np.uint8)).save(tmp_path / "set" / "masks" / "p001_0.png")
    problems = validate_probe_set(tmp_path / "set")
    assert [p.code for p in problems] == ["mask_size_mismatch"]
    assert "41x30" in problems[0].message and "40x30" in problems[0].message


def test_paths_leaving_the_folder(tmp_path):
    write_small_set(tmp_path / "set")
    outside = tmp_path / "outside.png"
    Image.new("RGB", (40, 30)).save(outside)
    os.symlink(outside, tmp_path / "set" / "images" / "link.png")

    def edit(lines):
        lines[0]["image"] = "../outside.png"
        lines[1]["image"] = str(outside)  # absolute
        lines[2]["image"] = "images/link.png"  # symlink escaping the folder
        return lines

    _rewrite_lines(tmp_path / "set", edit)
    problems = validate_probe_set(tmp_path / "set")
    assert [(p.code, p.line) for p in problems] == [("path_escape", 1), ("path_escape", 2), ("path_escape", 3)]


def test_inner_dot_dot_that_stays_inside_is_accepted(tmp_path):
    write_small_set(tmp_path / "set")
    _rewrite_lines(tmp_path / "set", lambda lines: [dict(lines[0], image="masks/../images/p000.png")] + lines[1:])
    assert validate_probe_set(tmp_path / "set") == []


def test_duplicate_id_empty_set_malformed_line_and_missing_fields(tmp_path):
    write_small_set(tmp_path / "set")
    path = tmp_path / "set"
    _rewrite_lines(path, lambda lines: lines + [lines[0]])
    problems = validate_probe_set(path)
    assert [(p.code, p.line) for p in problems] == [("duplicate_id", 4)]
    assert "line 1" in problems[0].message

    text = (path / "probes.jsonl").read_text().splitlines()
    text[3] = '{"id": "p009", "image": '
    text.append('{"image": "images/p000.png"}')
    text.append('{"id": "p010", "image": "images/p000.png", "objects": [{"mask": "masks/p000_0.png"}]}')
    (path / "probes.jsonl").write_text("\n".join(text) + "\n")
    assert [(p.code, p.line) for p in validate_probe_set(path)] == [
        ("bad_json", 4),
        ("missing_field", 5),
        ("missing_field", 6),
    ]

    (path / "probes.jsonl").write_text("\n\n")
    assert _codes(path) == ["empty_set"]


def test_prompt_is_required_without_a_default(tmp_path):
    write_probe_set(tmp_path / "set", [square_probe("a")], name="n", version="1", default_prompt="Say.")
    manifest = tmp_path / "set" / "probeset.yaml"
    manifest.write_text("name: n\nversion: 1\n")
    problems = validate_probe_set(tmp_path / "set")
    assert [p.code for p in problems] == ["missing_field"] and "prompt" in problems[0].message
    manifest.write_text("version: 1\ndefault_prompt: Say.\n")
    assert _codes(tmp_path / "set") == ["missing_field"]
    manifest.write_text(": : not yaml [")
    assert _codes(tmp_path / "set")[0] == "bad_manifest"


def test_objects_are_optional(tmp_path):
    probe = ProbeDraft(id="plain", image=np.zeros((8, 8, 3), np.uint8), prompt="What is this?")
    loaded = write_probe_set(tmp_path / "set", [probe], name="n", version="2")
    assert loaded.probes[0].objects == () and loaded.probes[0].prompt == "What is this?"


def test_writer_refuses_bad_drafts_and_writes_nothing(tmp_path):
    bad_mask = ProbeDraft(
        id="x", image=np.zeros((8, 8, 3), np.uint8), objects=[ObjectDraft(["cat"], np.zeros((8, 9), bool))]
    )
    with pytest.raises(ProbeSetError, match="mask_size_mismatch"):
        write_probe_set(tmp_path / "set", [bad_mask], name="n", version="1", default_prompt="p")
    with pytest.raises(ProbeSetError, match="duplicate_id"):
        write_probe_set(tmp_path / "set", [square_probe("a"), square_probe("a")], name="n", version="1", default_prompt="p")
    with pytest.raises(ProbeSetError, match="bad_id"):
        write_probe_set(tmp_path / "set", [square_probe("../a")], name="n", version="1", default_prompt="p")
    with pytest.raises(ProbeSetError, match="empty_set"):
        write_probe_set(tmp_path / "set", [], name="n", version="1", default_prompt="p")
    assert list(tmp_path.iterdir()) == []


def test_writer_overwrite(tmp_path):
    write_small_set(tmp_path / "set", n=2)
    with pytest.raises(FileExistsError):
        write_small_set(tmp_path / "set", n=1)
    replaced = write_small_set(tmp_path / "set", n=1, overwrite=True)
    assert len(replaced) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_source_and_licence_are_declared_in_the_manifest_and_change_the_hash(tmp_path):
    plain = write_small_set(tmp_path / "plain")
    declared = write_small_set(tmp_path / "declared", source="drawn by the test", licence="CC0")
    assert (plain.source, plain.licence) == (None, None)
    assert (declared.source, declared.licence) == ("drawn by the test", "CC0")
    assert "licence: CC0" in (tmp_path / "declared" / "probeset.yaml").read_text()
    assert declared.content_hash != plain.content_hash  # what the set declares is part of its identity


def test_the_american_spelling_is_read_and_bad_values_are_problems(tmp_path):
    path = tmp_path / "set"
    write_small_set(path)
    manifest = path / "probeset.yaml"
    base = manifest.read_text()
    manifest.write_text(base + "license: MIT\n")
    assert load_probe_set(path).licence == "MIT"
    manifest.write_text(base + "license: MIT\nlicence: CC0\nsource: [1, 2]\n")
    problems = [str(p) for p in validate_probe_set(path)]
    assert any("'licence' and 'license' and they differ" in p for p in problems)
    assert any("field 'source' must be text" in p for p in problems)
