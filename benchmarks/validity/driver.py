"""A lean audit driver: the project's real audit and comparison code, in one process, against one
database, without a registry or Prefect.

Why lean: the validity benchmark audits dozens of models; the registry and Prefect add seconds per
model and nothing to what is measured. Everything that decides a verdict is the flow's own code:
`flows.worker.run_probe_batch` (explain, score, validate, store each probe), `flows.convert`
(records and aggregates), `reports.read_run` (a run read back once) and `flows.verdicts.judge`
(compare with the probe set's layout, store the verdict). A run is keyed by (model weights, probe
set, configuration) as in every audit, so a rerun audits only models it has not seen and judges
only pairs it has not judged under the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from comparison import ComparisonResult, RegressionConfig, RunResults

DEFAULT_METHODS = ("tam", "msea_arc")
BATCH = 16


@dataclass
class AuditDriver:
    """Audits model folders on one probe set into one database and judges pairs of them."""

    db_url: str
    probe_dir: str
    methods: tuple[str, ...] = DEFAULT_METHODS
    model_name: str = "validity"
    torch_threads: int | None = 1  # one thread: on a shared CPU, more threads mostly wait for each other
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from flows.worker import repository_for

        if self.torch_threads:
            import torch

            torch.set_num_threads(self.torch_threads)
        self.repository = repository_for(self.db_url)
        self._runs: dict[str, RunResults] = {}

    def audit(self, label: str, model_dir: Path | str) -> RunResults:
        """The stored run of the model in `model_dir` (audited now if it is not complete)."""
        if label in self._runs:
            return self._runs[label]
        from flows.convert import aggregate_records
        from flows.identity import audit_config, code_version, package_versions
        from flows.registry.inspection import inspect_model_dir, weights_hash
        from flows.worker import probe_set_for, registered_probe_set, run_probe_batch
        from reports import read_run
        from storage.records import ModelVersionRecord

        started = time.perf_counter()
        model_dir = Path(model_dir).resolve()
        digest = weights_hash(model_dir)  # in the version: a retrained folder of the same name is a new version
        record = ModelVersionRecord(id=None, name=self.model_name, version=f"{label}@{digest[:12]}",
                                    source_uri=model_dir.as_uri(), weights_hash=digest,
                                    architecture=inspect_model_dir(model_dir))
        model_row = self.repository.get_or_create_model_version(record)
        set_row = registered_probe_set(self.repository, self.probe_dir)
        run = self.repository.start_run(model_row.id, set_row.id, audit_config(self.methods, {}, {}),
                                        package_versions(), code_version())
        done = self.repository.completed_probe_keys(run.id)
        todo = [p.id for p in probe_set_for(self.probe_dir).probes if p.id not in done]
        for i in range(0, len(todo), BATCH):
            run_probe_batch(run.id, todo[i:i + BATCH], probe_dir=self.probe_dir, model_uri=record.source_uri,
                            local_dir=str(model_dir), methods=self.methods, explain_settings={}, metric_options={},
                            db_url=self.db_url)
        records = read_run(self.repository, run.id)
        if todo or run.status != "completed":
            aggregates = aggregate_records(records.per_probe_metrics())
            self.repository.set_aggregate_metrics(run.id, aggregates)
            records = replace(records, metrics=[*records.per_probe_metrics(), *aggregates])
            self.repository.finish_run(run.id, "completed", {"validity_audit_s": time.perf_counter() - started})
        self.timings[f"audit {label}"] = time.perf_counter() - started
        self._runs[label] = records
        return records

    def judge(self, candidate: RunResults, baseline: RunResults, config: RegressionConfig | None = None) -> ComparisonResult:
        """The stored verdict of the pair under `config` (judged now if it is not stored)."""
        from flows.verdicts import judge
        from flows.worker import probe_layout_for

        started = time.perf_counter()
        result = judge(self.repository, candidate, baseline, config or RegressionConfig(),
                       probe_layout_for(self.probe_dir))
        self.timings[f"judge {candidate.run_id}/{baseline.run_id}"] = time.perf_counter() - started
        return result

