"""Training-time fast path: the same outputs and gradients as transformers' own code, removed afterwards."""

from __future__ import annotations

import torch

from auditors.demo.data import BatchBuilder
from auditors.demo.fastpath import ATTENTION_NAME, fast_training
from auditors.demo.model import build_model, build_processor
from auditors.demo.scenes import held_out_scenes


def _loss_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    out = model(**batch)
    out.loss.backward()
    return out.logits.detach().clone(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_fast_path_matches_the_stock_vision_tower_and_is_removed_afterwards():
    processor = build_processor()
    model = build_model(processor.tokenizer, seed=2)
    batch = BatchBuilder(processor.tokenizer).image_batch(held_out_scenes(6, seed=1))
    stock_logits, stock_grads = _loss_and_grads(model, batch)
    stock_impl = model.model.visual.config._attn_implementation
    with fast_training(model):
        assert model.model.visual.config._attn_implementation == ATTENTION_NAME
        fast_logits, fast_grads = _loss_and_grads(model, batch)
    assert model.model.visual.config._attn_implementation == stock_impl
    assert "forward" not in vars(model.model.visual.patch_embed)
    assert torch.allclose(stock_logits, fast_logits, atol=1e-5)
    assert stock_grads.keys() == fast_grads.keys() and any(k.startswith("model.visual.") for k in stock_grads)
    for name, grad in stock_grads.items():
        assert torch.allclose(grad, fast_grads[name], atol=1e-5, rtol=1e-4), name
    again_logits, _ = _loss_and_grads(model, batch)
    assert torch.equal(again_logits, stock_logits)


def test_windows_of_unequal_length_fall_back_to_one_call_per_window():
    import torch.nn.functional as F

    from auditors.demo.fastpath import batched_window_attention

    q, k, v = (torch.randn(1, 2, 10, 4) for _ in range(3))
    cu = torch.tensor([0, 4, 10])
    out, _ = batched_window_attention(None, q, k, v, scaling=0.5, cu_seq_lens_q=cu)
    parts = [F.scaled_dot_product_attention(q[:, :, a:b], k[:, :, a:b], v[:, :, a:b], scale=0.5) for a, b in ((0, 4), (4, 10))]
    assert torch.allclose(out, torch.cat(parts, dim=2).transpose(1, 2))
    equal, _ = batched_window_attention(None, q, k, v, scaling=0.5, cu_seq_lens_q=torch.tensor([0, 5, 10]))
    parts = [F.scaled_dot_product_attention(q[:, :, a:b], k[:, :, a:b], v[:, :, a:b], scale=0.5) for a, b in ((0, 5), (5, 10))]
    assert torch.allclose(equal, torch.cat(parts, dim=2).transpose(1, 2), atol=1e-6)
