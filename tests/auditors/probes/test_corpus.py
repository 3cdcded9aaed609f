"""The reader against the corpus of broken probe sets (`corpus.py`): every case is reported with its
code, file and line and nothing else goes wrong (no exception escapes); every tolerated variant reads.

The command line's answer to the same corpus (exit 2, a line naming the file, no traceback, the
database untouched) is tested in `tests/flows/test_bad_probe_sets.py`.
"""

from __future__ import annotations

import pytest

import auditors.probes.reader as reader
from auditors.probes import ProbeSetError, load_probe_set, validate_probe_set
from tests.auditors.probes.corpus import CASES, TOLERATED, Case, both, field, jsonl_bytes, valid_set, yaml_text


def test_the_corpus_starts_from_a_valid_set(tmp_path):
    assert validate_probe_set(valid_set(tmp_path / "set")) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_broken_set_is_reported_with_its_file_and_line(case: Case, tmp_path):
    root = valid_set(tmp_path / "set")
    case.breaks(root)
    problems = validate_probe_set(root)
    matching = [p for p in problems if p.code == case.code]
    assert matching, [str(p) for p in problems]
    assert any(str(p).startswith(case.where + ":") for p in matching), [str(p) for p in problems]
    with pytest.raises(ProbeSetError) as error:
        load_probe_set(root)
    assert case.where in str(error.value)


@pytest.mark.parametrize(("name", "variant"), TOLERATED, ids=[name for name, _ in TOLERATED])
def test_tolerated_variants_read(name, variant, tmp_path):
    root = valid_set(tmp_path / "set")
    variant(root)
    assert validate_probe_set(root) == []
    probe_set = load_probe_set(root)
    assert len(probe_set.probes) == 3
    for probe in probe_set.probes:  # the audit's own reads succeed too
        assert probe.load_image().mode == "RGB"
        assert all(probe.load_mask(i).any() for i in range(len(probe.objects)))


def test_crlf_and_byte_order_marks_read_the_same_probes(tmp_path):
    clean = load_probe_set(valid_set(tmp_path / "clean"))
    root = valid_set(tmp_path / "windows")
    both(jsonl_bytes(lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
         lambda r: (r / "probeset.yaml").write_bytes(b"\xef\xbb\xbf" + (r / "probeset.yaml").read_bytes()))(root)
    windows = load_probe_set(root)
    assert [(p.id, p.prompt, p.image_path, p.objects, p.caption) for p in windows.probes] == \
        [(p.id, p.prompt, p.image_path, p.objects, p.caption) for p in clean.probes]
    assert windows.name == clean.name and windows.version == clean.version


def test_every_problem_of_a_set_is_listed_at_once(tmp_path):
    root = valid_set(tmp_path / "set")
    both(field(1, "id", "a/b"), field(2, "prompt", ""), yaml_text("name: n\nversion: 1.5\ndefault_prompt: Say.\n"),
         lambda r: (r / "masks" / "p002_0.png").unlink())(root)
    problems = [str(p) for p in validate_probe_set(root)]
    assert [p.split(":")[0] for p in problems] == ["probeset.yaml", "probes.jsonl line 1", "probes.jsonl line 2",
                                                   "probes.jsonl line 3"], problems


def test_more_probes_than_the_limit(tmp_path, monkeypatch):
    root = valid_set(tmp_path / "set")
    monkeypatch.setattr(reader, "MAX_PROBES", 2)
    problems = validate_probe_set(root)
    assert [(p.code, p.line) for p in problems] == [("too_large", 3)]


def test_a_long_problem_list_is_shortened_in_the_message_but_kept_whole(tmp_path):
    root = valid_set(tmp_path / "set")
    lines = [f'{{"id": "bad/{i}", "image": "images/p000.png"}}' for i in range(30)]
    (root / "probes.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ProbeSetError) as error:
        load_probe_set(root)
    assert len(error.value.problems) == 30 and "(and 10 more)" in str(error.value)
