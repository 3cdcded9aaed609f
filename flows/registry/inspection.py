"""What a model folder holds: its safetensors weights (and their hash) and a supported architecture.

Why before registering: a registry entry that the audit cannot load would only fail hours later in
a nightly run; refusing it at `register` names the problem where it is made. The weights hash is
recorded at registration and checked after every download, so a report's lineage names exactly the
weights that were audited.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flows.errors import UnsupportedRegisteredModelError


def safetensors_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*.safetensors") if p.is_file())


def weights_hash(model_dir: str | Path) -> str:
    """sha256 over (relative name, content) of every safetensors file, in name order."""
    root = Path(model_dir)
    files = safetensors_files(root)
    if not files:
        raise UnsupportedRegisteredModelError(f"no .safetensors weights in {root} (only safetensors are loaded)")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def supported_architectures() -> tuple[str, ...]:
    """The model classes the auditors have adapters for (asked of `auditors`, never hard-coded here)."""
    import auditors

    getter = getattr(auditors, "supported_architectures", None)
    if getter is None:
        from auditors import adapters  # type: ignore[attr-defined]

        getter = adapters.supported_architectures
    return tuple(getter())


def inspect_model_dir(model_dir: str | Path) -> str:
    """Check a saved folder is a supported vision-language model; return its architecture."""
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        raise UnsupportedRegisteredModelError(f"model folder not found: {root}")
    config_path = root / "config.json"
    if not config_path.is_file():
        raise UnsupportedRegisteredModelError(f"{root} is not a saved Hugging Face model folder (no config.json)")
    from auditors.errors import AuditorInputError
    from auditors.loading import check_safetensors_file, read_model_config

    weights = safetensors_files(root)
    try:  # the loader's own checks: what registers here loads in the audit
        config = read_model_config(config_path)
        for file in weights:
            check_safetensors_file(file)
    except AuditorInputError as exc:
        raise UnsupportedRegisteredModelError(str(exc)) from exc
    architectures = config.get("architectures") or []
    if not weights:
        raise UnsupportedRegisteredModelError(
            f"no .safetensors weights in {root}: only safetensors are loaded (convert .bin weights first)"
        )
    supported = supported_architectures()
    matching = [a for a in architectures if a in supported]
    if not matching:
        raise UnsupportedRegisteredModelError(
            f"{root} holds {', '.join(architectures) or 'an unknown architecture'} "
            f"(model_type {config.get('model_type')!r}), not a supported vision-language model; "
            f"supported: {', '.join(supported)}"
        )
    return matching[0]
