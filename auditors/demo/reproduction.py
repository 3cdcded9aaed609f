"""Did a training run reproduce the shipped weights? (``mllm-audit train-demo`` ends by saying.)

Why bytes: safetensors written by the same code from the same tensors are identical files, so equal bytes
mean a bit-identical model; anything else is told apart by its cause (another seed or thread count, or
another CPU type or library version summing floats in another order).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_SEED = 1234  # the seed of the shipped weights


class NothingToCompare(ValueError):
    """The trained folder holds no weights."""


def compare_with_shipped(out_dir: str | Path, variant: str) -> bool | None:
    """Whether ``out_dir/model.safetensors`` is byte for byte the shipped ``variant`` weights.

    None when no shipped weights of that variant exist."""
    import filecmp

    from . import WEIGHTS_DIR

    shipped = WEIGHTS_DIR / variant / "model.safetensors"
    mine = Path(out_dir) / "model.safetensors"
    if not shipped.is_file():
        return None
    if not mine.is_file():
        raise NothingToCompare(f"{mine} does not exist: nothing to compare with the shipped {variant} weights")
    return filecmp.cmp(mine, shipped, shallow=False)


def reproduction_message(out_dir: str | Path, variant: str, seed: int, threads: int | None) -> str:
    """One line for the command's user: did this run reproduce the shipped weights?"""
    same = compare_with_shipped(out_dir, variant)
    if same is None:
        return f"no shipped {variant} weights to compare with"
    if same:
        return f"bit-identical to the shipped {variant} weights"
    if seed != DEFAULT_SEED or threads is not None:
        return (f"differs from the shipped {variant} weights, as expected with seed={seed}, "
                f"threads={threads if threads is not None else 'recipe default'}")
    return (f"differs from the shipped {variant} weights: another CPU type or library version sums floats in "
            "another order (see auditors/demo/MODEL_CARD.md); compare its measurements instead")
