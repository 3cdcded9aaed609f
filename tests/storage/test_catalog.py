"""Catalogue part: model versions by identity and weights hash, probe sets by content hash."""

from __future__ import annotations

import dataclasses
import io

import pytest

from storage.errors import IdentityConflictError, StorageInputError
from storage.repository import AuditRepository
from tests.storage.factories import is_aware_utc, model_version, probe_set


def test_model_version_find_or_create_by_identity(repo: AuditRepository) -> None:
    first = repo.get_or_create_model_version(model_version())
    again = repo.get_or_create_model_version(dataclasses.replace(model_version(), aliases=("champion",)))
    assert first.id is not None and again.id == first.id
    assert again.aliases == ("champion",)  # aliases move between versions: the latest is kept
    assert repo.get_model_version(first.id).aliases == ("champion",)
    other = repo.get_or_create_model_version(model_version(version="2"))
    assert other.id != first.id
    assert is_aware_utc(first.created_at)
    assert repo.find_model_version("demo-captioner", "2") == other
    assert repo.find_model_version("demo-captioner", "9") is None


def test_an_alias_moved_in_the_registry_moves_in_the_database(repo: AuditRepository) -> None:
    v1 = repo.get_or_create_model_version(dataclasses.replace(model_version(version="1"), aliases=("champion",)))
    v2 = repo.get_or_create_model_version(model_version(version="2", weights_hash="b" * 64))  # candidate
    assert repo.get_model_version(v2.id).aliases == ("candidate",)
    # the registry moved `candidate` to v3 (and added `latest` there): recording v3 takes it off v2
    v3 = repo.get_or_create_model_version(
        dataclasses.replace(model_version(version="3", weights_hash="d" * 64), aliases=("candidate", "latest"))
    )
    assert repo.get_model_version(v3.id).aliases == ("candidate", "latest")
    assert repo.get_model_version(v2.id).aliases == ()
    assert repo.get_model_version(v1.id).aliases == ("champion",)  # other aliases stay where they are
    # `champion` moves to v2, which already exists: v1 loses it, v3 keeps its own
    repo.get_or_create_model_version(dataclasses.replace(model_version(version="2", weights_hash="b" * 64), aliases=("champion",)))
    assert [repo.get_model_version(v.id).aliases for v in (v1, v2, v3)] == [(), ("champion",), ("candidate", "latest")]
    # the same alias on another model name is another alias
    other = repo.get_or_create_model_version(dataclasses.replace(model_version(name="other"), aliases=("champion",)))
    assert repo.get_model_version(other.id).aliases == ("champion",)
    assert repo.get_model_version(v2.id).aliases == ("champion",)
    # a record listing no aliases (the registry could not say) leaves the stored ones alone
    repo.get_or_create_model_version(dataclasses.replace(model_version(version="2", weights_hash="b" * 64), aliases=()))
    assert repo.get_model_version(v2.id).aliases == ("champion",)
    # a record whose registry says "no aliases" (an alias deleted there) clears them
    repo.get_or_create_model_version(
        dataclasses.replace(model_version(version="2", weights_hash="b" * 64), aliases=(), aliases_known=True))
    assert repo.get_model_version(v2.id).aliases == ()


def test_same_version_with_other_weights_is_a_conflict(repo: AuditRepository) -> None:
    repo.get_or_create_model_version(model_version())
    with pytest.raises(IdentityConflictError, match="weights hash"):
        repo.get_or_create_model_version(model_version(weights_hash="b" * 64))


def test_probe_set_find_or_create_by_content_hash(repo: AuditRepository) -> None:
    record, probes = probe_set(4)
    first = repo.get_or_create_probe_set(record, probes)
    again = repo.get_or_create_probe_set(dataclasses.replace(record, name="renamed"), probes[:2])
    assert again.id == first.id and again.name == "demo-probes" and again.n_probes == 4
    stored = repo.list_probes(first.id)
    assert [p.probe_key for p in stored] == [p.probe_key for p in probes]
    assert stored[0].object_words == (("red", "square"),) and stored[1].object_words == ()
    assert all(p.id is not None for p in stored)
    with pytest.raises(StorageInputError, match="repeats probe keys"):
        repo.get_or_create_probe_set(dataclasses.replace(record, content_hash="x"), probes + probes[:1])
    with pytest.raises(StorageInputError, match="n_probes=9"):
        repo.get_or_create_probe_set(dataclasses.replace(record, content_hash="y", n_probes=9), probes)


def _image_bytes(fmt: str, side: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_probe_thumbnails_are_stored_and_returned_byte_for_byte(repo: AuditRepository) -> None:
    record, probes = probe_set(3)
    png, jpeg = _image_bytes("PNG"), _image_bytes("JPEG")
    given = [dataclasses.replace(probes[0], thumbnail=png), dataclasses.replace(probes[1], thumbnail=jpeg), probes[2]]
    stored = repo.list_probes(repo.get_or_create_probe_set(record, given).id)
    assert [p.thumbnail for p in stored] == [png, jpeg, None]


def test_thumbnails_missing_from_a_stored_probe_set_are_filled_in_later(repo: AuditRepository) -> None:
    record, probes = probe_set(2)
    first = repo.get_or_create_probe_set(record, probes)
    png, other = _image_bytes("PNG"), _image_bytes("PNG", side=4)
    repo.get_or_create_probe_set(record, [dataclasses.replace(probes[0], thumbnail=png), probes[1]])
    assert [p.thumbnail for p in repo.list_probes(first.id)] == [png, None]
    # a stored thumbnail is kept: the content hash says the images are the same
    repo.get_or_create_probe_set(record, [dataclasses.replace(p, thumbnail=other) for p in probes])
    assert [p.thumbnail for p in repo.list_probes(first.id)] == [png, other]


def test_a_probe_set_is_found_complete_only_with_every_thumbnail(repo: AuditRepository) -> None:
    """What lets an audit skip making thumbnails: found only when the set is stored whole."""
    record, probes = probe_set(2)
    assert repo.find_complete_probe_set(record.content_hash) is None  # not stored
    stored = repo.get_or_create_probe_set(record, probes)
    assert repo.find_complete_probe_set(record.content_hash) is None  # stored without thumbnails
    png = _image_bytes("PNG")
    repo.get_or_create_probe_set(record, [dataclasses.replace(p, thumbnail=png) for p in probes])
    found = repo.find_complete_probe_set(record.content_hash)
    assert found is not None and found.id == stored.id and found.content_hash == record.content_hash


@pytest.mark.parametrize(
    ("thumbnail", "fragment"),
    [
        (b"just some bytes, not an image", "not a PNG or JPEG"),
        ("iVBORw0KGgo=", "must be bytes"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024), "at most"),
    ],
)
def test_unusable_thumbnails_are_refused_by_probe(repo: AuditRepository, thumbnail: object, fragment: str) -> None:
    record, probes = probe_set(2)
    bad = [probes[0], dataclasses.replace(probes[1], thumbnail=thumbnail)]
    with pytest.raises(StorageInputError, match=f"thumbnail of probe 'p001'.*{fragment}"):
        repo.get_or_create_probe_set(record, bad)
    assert repo.list_runs() == []
    with repo.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM probe_sets").scalar_one() == 0
