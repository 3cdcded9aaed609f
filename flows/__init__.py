"""Orchestration: the only layer that imports the others (auditors, storage, reports).

- `flows.registry`: MLflow registry (register a saved model folder, resolve/load `models:/` URIs).
- `flows.audit.audit_model_version`, `flows.watch.watch_registry`: the Prefect flows.
- `flows.validation`: great-expectations suites (probe manifests, attribution tables).
- `flows.regression`, `flows.alerts`: verdicts and where they are sent.
- `flows.cli`: the `mllm-audit` command line.

Nothing heavy is imported here, so `import flows.cli` (and `mllm-audit --help`) stays fast.
"""
