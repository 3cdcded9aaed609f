"""ExplainState's full-vocabulary logits on a bfloat16 head (real checkpoints ship in bf16)."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from auditors.state import ExplainState


def test_full_logits_use_the_heads_own_dtype_and_return_float32():
    """No float32 copy of a bf16 head (1.2 GB at Qwen2.5-VL-3B size): the product runs in bf16, like
    generation's own logits, and only the few result rows become float32."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(1000, 64, generator=generator).to(torch.bfloat16)
    bias = torch.randn(1000, generator=generator).to(torch.bfloat16)
    hidden = torch.randn(3, 64, generator=generator)  # captured states are float32
    for head_bias in (None, bias):
        state = SimpleNamespace(weight=weight, bias=head_bias)
        logits = ExplainState.full_logits(state, hidden)
        assert logits.dtype == torch.float32 and logits.shape == (3, 1000)
        expected = torch.nn.functional.linear(hidden.to(torch.bfloat16), weight, head_bias).float()
        torch.testing.assert_close(logits, expected, rtol=0, atol=0)
        assert not torch.equal(logits, hidden @ weight.float().T + (0 if head_bias is None else head_bias.float()))
