"""Orchestration: the only layer that imports the others (auditors, comparison, storage, reports).

- `flows.request.AuditRequest`: one audit's parameters, checked (the CLI, the flows and the watcher share it).
- `flows.audit.audit_model_version`, `flows.watch.watch_registry`, `flows.health`: the Prefect flows;
  `flows.tasks` their tasks, `flows.fanout` the batches, `flows.worker` what one batch does.
- `flows.registry`: MLflow registry (register a saved model folder, resolve/load `models:/` URIs).
- `flows.validation`: the great-expectations suite on each batch's attribution table (probe sets are
  checked by their one reader, `auditors.probes`).
- `flows.verdicts`: judge two runs (`comparison`) and store the verdict; `flows.alerts`: where it is sent.
- `flows.convert`: auditors' objects as storage records; `flows.identity`: a run's configuration and lineage.
- `flows.cli`: the `mllm-audit` command line.

Nothing heavy is imported here, so `import flows.cli` (and `mllm-audit --help`) stays fast.
"""
