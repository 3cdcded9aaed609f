"""The default probe set: the embedded demo's held-out scenes, built once under the data directory.

Why: a deployment (or `mllm-audit demo`) must work on a fresh machine without the user preparing a
probe folder; `probe_set=None` anywhere in the flows means this set.
"""

from __future__ import annotations

from pathlib import Path

from flows.config import Settings

DEFAULT_PROBE_SET_NAME = "demo-default"
DEFAULT_N_PROBES = 200


def default_probe_set_dir(settings: Settings, n: int = DEFAULT_N_PROBES) -> Path:
    return settings.probes_dir / f"{DEFAULT_PROBE_SET_NAME}-{n}"


def ensure_default_probe_set(settings: Settings, n: int = DEFAULT_N_PROBES) -> Path:
    """The folder of the default probe set, built (deterministically, by seed) if it is not there."""
    from auditors.demo import build_default_probe_set

    folder = default_probe_set_dir(settings, n)
    if not (folder / "probes.jsonl").is_file():
        build_default_probe_set(folder, n=n, overwrite=True)
    return folder


def resolve_probe_dir(probe_set: str | None, settings: Settings) -> str:
    """An explicit folder as an absolute path, or the default set's folder (built on demand)."""
    if probe_set:
        return str(Path(probe_set).expanduser().resolve())
    return str(ensure_default_probe_set(settings).resolve())
