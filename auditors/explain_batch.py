"""``auditors.explain_batch``: several probes per forward, each explained as ``explain`` would.

For throughput (an audit of hundreds of probes, a GPU that idles on one probe at a time): the
probes' generations run as one left-padded batch (``auditors/batch_capture.py``), the prompt-only
forwards of MSEA's extra scales run as one batch per scale, and the rankings ARC needs are
projected in one LM-head pass for the whole batch. Everything after the forwards is per probe and
the same code as ``explain``. The maps equal the unbatched ones up to float rounding (a padded
batch is not bit-identical to a batch of one); tested on every supported family.

The teacher-forced replays of ``align_scales`` and the attention baseline's eager forward still run
per probe.
"""

from __future__ import annotations

import time
from typing import Sequence

from auditors.adapters import adapter_for
from auditors.batch_capture import batched_prompt_hidden_states, generate_batch_with_capture
from auditors.errors import AuditorInputError
from auditors.explain import (DEFAULT_METHODS, attribute_all, build_explanation, check_prompt, explain,
                              extra_scales, ranked_positions, resolve_methods)
from auditors.explanation import Explanation
from auditors.gc_policy import batch_collections
from auditors.images import load_image
from auditors.settings import ExplainSettings
from auditors.state import ExplainState


def explain_batch(model, processor, images: Sequence, prompts: str | Sequence[str],
                  methods: Sequence[str] = DEFAULT_METHODS, settings: ExplainSettings | None = None,
                  batch_size: int | None = None) -> list[Explanation]:
    """Explain each (image, prompt) pair, ``batch_size`` probes per forward (default: all at once).

    ``images``: PIL images or paths; ``prompts``: one prompt for every image, or one per image.
    Returns one ``Explanation`` per image, in order, with the maps ``explain`` gives within float
    tolerance. ``timings["generate_s"]`` is the batch's generation time divided by its size, and
    ``timings["batch_size"]`` the number of probes that shared it.
    """
    settings = settings or ExplainSettings()
    explainers = resolve_methods(methods)
    images = list(images)
    prompt_list = [prompts] * len(images) if isinstance(prompts, str) else list(prompts)
    if len(prompt_list) != len(images):
        raise AuditorInputError(f"got {len(images)} images but {len(prompt_list)} prompts: give one prompt, or one "
                                "per image")
    if not images:
        return []
    for prompt in prompt_list:
        check_prompt(prompt)
    size = len(images) if batch_size is None else int(batch_size)
    if size < 1:
        raise AuditorInputError(f"batch_size must be >= 1, got {batch_size}")
    adapter = adapter_for(model)
    explanations: list[Explanation] = []
    with batch_collections():
        for start in range(0, len(images), size):
            explanations += _explain_slice(model, processor, adapter, images[start: start + size],
                                           prompt_list[start: start + size], methods, explainers, settings)
    return explanations


def _explain_slice(model, processor, adapter, images, prompts, methods, explainers, settings) -> list[Explanation]:
    """One forward's probes."""
    pils = [load_image(image) for image in images]
    if len(pils) == 1:  # a batch of one is explain itself (its generation also carries the rankings)
        single = explain(model, processor, pils[0], prompts[0], methods=methods, settings=settings)
        single.timings["batch_size"] = 1.0
        return [single]
    return _explain_chunk(model, processor, adapter, pils, prompts, explainers, settings)


def _explain_chunk(model, processor, adapter, pils, prompts, explainers, settings) -> list[Explanation]:
    import torch

    started = time.perf_counter()
    with torch.inference_mode():
        prepared = [adapter.prepare(model, processor, pil, prompt, 1.0) for pil, prompt in zip(pils, prompts)]
        captures = generate_batch_with_capture(
            model, processor, adapter, prepared, settings.max_new_tokens,
            ranked_positions=[ranked_positions(p, explainers, settings) for p in prepared], topk=settings.topk)
        generate_s = (time.perf_counter() - started) / len(pils)
        states = [ExplainState(model, processor, adapter, pil, prompt, settings, item, capture)
                  for pil, prompt, item, capture in zip(pils, prompts, prepared, captures)]
        forwards_s = _provide_extra_scales(model, processor, adapter, states, explainers) / len(states)
        results = []
        for state in states:
            timings = {"generate_s": generate_s, "batch_size": float(len(states)), "extra_forwards_s": forwards_s}
            t0 = time.perf_counter()
            maps = attribute_all(state, explainers, timings)
            timings["total_s"] = generate_s + forwards_s + time.perf_counter() - t0
            results.append((state, maps, timings))
    return [build_explanation(state, explainers, maps, timings) for state, maps, timings in results]


def _provide_extra_scales(model, processor, adapter, states: list[ExplainState], explainers) -> float:
    """One batched prompt-only forward per extra scale for every probe that needs it; its seconds."""
    wanted: dict[float, list[ExplainState]] = {}
    for state in states:  # every scale of every probe is validated before any forward
        for scale in extra_scales(state, explainers):
            wanted.setdefault(scale, []).append(state)
    t0 = time.perf_counter()
    for scale, members in wanted.items():
        hidden = batched_prompt_hidden_states(model, processor, adapter, [s.prepared_at(scale) for s in members])
        for state, states_hidden in zip(members, hidden, strict=True):
            state.provide_hidden(scale, states_hidden)
    return time.perf_counter() - t0
