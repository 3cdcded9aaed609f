"""Training-time numerics for the demo model: the same maths as transformers' code, fewer tiny ops.

Why: on CPU, transformers' Qwen2.5-VL vision attention (any implementation but flash) runs one attention
call per window: 32 images x 4 windows x 3 windowed blocks = 384 tiny calls per forward, plus their
backward, and the patch embedding is a Conv3d whose kernel equals its stride (a matmul in disguise) that
oneDNN runs slowly at this size. Here every window has the same length (all demo images are 112 px), so
the windows are stacked into one batched attention call, and the patch embedding runs as one linear layer
with the convolution's own weight. Installed only while training (``fast_training``), removed afterwards:
saved models are plain transformers models, and inference uses transformers' own code.
``tests/auditors/demo/test_fastpath.py`` checks that outputs and gradients match the stock path.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

ATTENTION_NAME = "flash_demo_batched_windows"  # "flash" routes the vision blocks to the packed (cu_seqlens) call


def batched_window_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any = None,
                             scaling: float | None = None, dropout: float = 0.0, cu_seq_lens_q: Any = None,
                             **_: Any) -> tuple[Any, None]:
    """Packed attention over windows of equal length in one ``scaled_dot_product_attention`` call.

    ``query``/``key``/``value``: (1, heads, total_len, head_dim); windows given by ``cu_seq_lens_q``.
    Windows of unequal length (other image sizes) fall back to one call per window, as transformers does."""
    import torch
    import torch.nn.functional as F

    lengths = (cu_seq_lens_q[1:] - cu_seq_lens_q[:-1]).tolist()
    heads, dim = query.shape[1], query.shape[3]
    if len(set(lengths)) == 1:
        n, size = len(lengths), lengths[0]

        def windows(t: Any) -> Any:
            return t[0].reshape(heads, n, size, dim).transpose(0, 1)

        out = F.scaled_dot_product_attention(windows(query), windows(key), windows(value), scale=scaling)
        return out.permute(0, 2, 1, 3).reshape(1, n * size, heads, dim), None
    parts = [F.scaled_dot_product_attention(q, k, v, scale=scaling)
             for q, k, v in zip(*(torch.split(t, lengths, dim=2) for t in (query, key, value)))]
    return torch.cat(parts, dim=2).transpose(1, 2), None


def _register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, batched_window_attention)


def _linear_patch_embed(patch_embed: Any) -> Any:
    import torch.nn.functional as F

    def forward(hidden_states: Any) -> Any:
        weight = patch_embed.proj.weight
        flat = weight.reshape(weight.shape[0], -1)
        x = hidden_states.reshape(-1, flat.shape[1]).to(weight.dtype)
        return F.linear(x, flat, patch_embed.proj.bias)

    return forward


@contextmanager
def fast_training(model: Any) -> Iterator[Any]:
    """Within the block, ``model``'s vision tower uses batched window attention and a linear patch embedding."""
    _register()
    visual = model.model.visual
    config = visual.config
    previous = config._attn_implementation
    patch_embed = visual.patch_embed
    config._attn_implementation = ATTENTION_NAME
    patch_embed.forward = _linear_patch_embed(patch_embed)
    try:
        yield model
    finally:
        config._attn_implementation = previous
        del patch_embed.forward  # back to the class's own forward
