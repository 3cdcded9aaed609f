"""The catalogue part of the repository: model versions, probe sets and their probes.

Why together: these are the identities a run hangs off (a version by (name, version) and its
weights hash, a probe set by its content hash); each is found or created, never duplicated, and
is never changed by an audit except for a version's aliases, which follow the registry.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.database import RepositoryPart
from storage.errors import IdentityConflictError, NotFoundError, StorageInputError
from storage.models import ModelVersion, Probe, ProbeSet
from storage.records import ModelVersionRecord, ProbeRecord, ProbeSetRecord
from storage.validation import aware_utc, check_thumbnail


class CatalogRepository(RepositoryPart):
    """Model versions, probe sets and probes."""

    def get_or_create_model_version(self, record: ModelVersionRecord) -> ModelVersionRecord:
        """The stored model version with the record's (name, version), created when missing.

        The same (name, version) with another weights hash raises `IdentityConflictError`:
        registry versions are immutable, so a different hash means the wrong weights.

        Aliases follow the registry: a record whose aliases are the registry's current ones
        (`aliases_known`, or any record listing some) makes them exactly this version's, an empty
        list included (an alias deleted in the registry goes), and takes each of them off every
        other version of the same model, in the same transaction. A record that lists none and
        does not know leaves the stored aliases alone (the registry was not asked).
        """

        def work(session: Session) -> ModelVersionRecord:
            row = session.scalars(
                select(ModelVersion).where(ModelVersion.name == record.name, ModelVersion.version == record.version)
            ).one_or_none()
            if row is None:
                row = ModelVersion(
                    name=record.name,
                    version=record.version,
                    source_uri=record.source_uri,
                    weights_hash=record.weights_hash,
                    architecture=record.architecture,
                    mlflow_run_id=record.run_id,
                    aliases=list(record.aliases),
                )
                if record.registered_at is not None:
                    row.registered_at = aware_utc(record.registered_at, "model version registered_at")
                if record.created_at is not None:
                    row.created_at = aware_utc(record.created_at, "model version created_at")
                session.add(row)
                session.flush()
            else:
                if row.weights_hash != record.weights_hash:
                    raise IdentityConflictError(
                        f"model {record.name!r} version {record.version!r} is stored with weights hash "
                        f"{row.weights_hash[:12]}..., not {record.weights_hash[:12]}...; registry versions "
                        "must not change their weights"
                    )
                if (record.aliases or record.aliases_known) and list(record.aliases) != list(row.aliases):
                    row.aliases = list(record.aliases)
                if row.mlflow_run_id is None and record.run_id is not None:
                    row.mlflow_run_id = record.run_id
                if row.registered_at is None and record.registered_at is not None:
                    row.registered_at = aware_utc(record.registered_at, "model version registered_at")
            if record.aliases:
                _take_aliases_off_other_versions(session, row)
            return _model_version_record(row)

        return self._db.get_or_create(work)

    def get_model_version(self, model_version_id: int) -> ModelVersionRecord:
        with self._db.transaction() as session:
            row = session.get(ModelVersion, model_version_id)
            if row is None:
                raise NotFoundError(f"model version {model_version_id} does not exist in {self._db.url}")
            return _model_version_record(row)

    def find_model_version(self, name: str, version: str) -> ModelVersionRecord | None:
        with self._db.transaction() as session:
            row = session.scalars(
                select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)
            ).one_or_none()
            return None if row is None else _model_version_record(row)

    def list_model_versions(self, name: str) -> list[ModelVersionRecord]:
        """Every stored version of the model, in version order (numeric versions numerically)."""
        with self._db.transaction() as session:
            rows = session.scalars(select(ModelVersion).where(ModelVersion.name == name))
            records = [_model_version_record(row) for row in rows]
        return sorted(records, key=lambda r: (not r.version.isdigit(), int(r.version) if r.version.isdigit() else 0,
                                              r.version))

    def get_or_create_probe_set(self, record: ProbeSetRecord, probes: Sequence[ProbeRecord]) -> ProbeSetRecord:
        """The stored probe set with the record's content hash, created with its probes when missing."""
        keys = [p.probe_key for p in probes]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise StorageInputError(f"probe set {record.name!r} repeats probe keys {dupes[:5]}")
        if record.n_probes and record.n_probes != len(probes):
            raise StorageInputError(
                f"probe set {record.name!r} says n_probes={record.n_probes} but {len(probes)} probes were given"
            )
        thumbnails = {p.probe_key: check_thumbnail(p.probe_key, p.thumbnail) for p in probes}

        def work(session: Session) -> ProbeSetRecord:
            row = session.scalars(select(ProbeSet).where(ProbeSet.content_hash == record.content_hash)).one_or_none()
            if row is None:
                row = ProbeSet(
                    name=record.name,
                    version=record.version,
                    content_hash=record.content_hash,
                    description=record.description,
                    n_probes=len(probes),
                    root=record.root,
                    source=record.source,
                    licence=record.licence,
                )
                session.add(row)
                session.flush()
                if probes:
                    session.execute(
                        insert(Probe),
                        [
                            {
                                "probe_set_id": row.id,
                                "probe_key": p.probe_key,
                                "image_path": p.image_path,
                                "prompt": p.prompt,
                                "object_words": [list(words) for words in p.object_words],
                                "thumbnail": thumbnails[p.probe_key],
                            }
                            for p in probes
                        ],
                    )
            else:
                _fill_missing_thumbnails(session, row.id, thumbnails)
            return _probe_set_record(row)

        return self._db.get_or_create(work)

    def find_complete_probe_set(self, content_hash: str) -> ProbeSetRecord | None:
        """The stored probe set with this content hash when every one of its probes has its
        thumbnail, else None (then `get_or_create_probe_set` stores it or fills the thumbnails in).

        Why: making thumbnails decodes every image; a caller asks this first and makes them only
        for a set the database does not hold whole.
        """
        with self._db.transaction() as session:
            row = session.scalars(select(ProbeSet).where(ProbeSet.content_hash == content_hash)).one_or_none()
            if row is None:
                return None
            lacking = session.scalar(
                select(func.count()).select_from(Probe).where(Probe.probe_set_id == row.id, Probe.thumbnail.is_(None))
            )
            return None if lacking else _probe_set_record(row)

    def get_probe_set(self, probe_set_id: int) -> ProbeSetRecord:
        with self._db.transaction() as session:
            row = session.get(ProbeSet, probe_set_id)
            if row is None:
                raise NotFoundError(f"probe set {probe_set_id} does not exist in {self._db.url}")
            return _probe_set_record(row)

    def list_probes(self, probe_set_id: int) -> list[ProbeRecord]:
        """The probes of a probe set, in the order they were stored."""
        with self._db.transaction() as session:
            if session.get(ProbeSet, probe_set_id) is None:
                raise NotFoundError(f"probe set {probe_set_id} does not exist in {self._db.url}")
            rows = session.scalars(select(Probe).where(Probe.probe_set_id == probe_set_id).order_by(Probe.id))
            return [
                ProbeRecord(
                    probe_key=r.probe_key,
                    image_path=r.image_path,
                    prompt=r.prompt,
                    object_words=tuple(tuple(words) for words in r.object_words),
                    id=r.id,
                    thumbnail=r.thumbnail,
                )
                for r in rows
            ]


def _take_aliases_off_other_versions(session: Session, row: ModelVersion) -> None:
    """An alias names one version of a model: remove this version's aliases from its siblings."""
    moved = set(row.aliases)
    siblings = session.scalars(select(ModelVersion).where(ModelVersion.name == row.name, ModelVersion.id != row.id))
    for sibling in siblings:
        kept = [alias for alias in sibling.aliases if alias not in moved]
        if len(kept) != len(sibling.aliases):
            sibling.aliases = kept


def _fill_missing_thumbnails(session: Session, probe_set_id: int, thumbnails: dict[str, bytes | None]) -> None:
    """Give stored probes without a thumbnail the one handed in (a set stored before thumbnails
    existed gets them on its next use; one already stored is kept: same content hash, same images)."""
    given = {key: data for key, data in thumbnails.items() if data is not None}
    if not given:
        return
    missing = session.scalars(
        select(Probe).where(
            Probe.probe_set_id == probe_set_id, Probe.thumbnail.is_(None), Probe.probe_key.in_(list(given))
        )
    )
    for probe in missing:
        probe.thumbnail = given[probe.probe_key]


def _model_version_record(r: ModelVersion) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=r.id,
        name=r.name,
        version=r.version,
        source_uri=r.source_uri,
        weights_hash=r.weights_hash,
        architecture=r.architecture,
        run_id=r.mlflow_run_id,
        aliases=tuple(r.aliases),
        created_at=r.created_at,
        registered_at=r.registered_at,
    )


def _probe_set_record(r: ProbeSet) -> ProbeSetRecord:
    return ProbeSetRecord(
        id=r.id,
        name=r.name,
        version=r.version,
        content_hash=r.content_hash,
        description=r.description,
        n_probes=r.n_probes,
        root=r.root,
        source=r.source,
        licence=r.licence,
    )
