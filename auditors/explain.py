"""``auditors.explain``: one greedy generation, then every requested map per generated token.

``explain_batch`` (``auditors/explain_batch.py``) does the same for several probes with one
batched generation; both share ``resolve_methods``, ``attribute_all`` and ``build_explanation``.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from auditors.adapters import adapter_for
from auditors.capture import generate_with_capture
from auditors.errors import AuditorInputError
from auditors.explanation import Explanation
from auditors.images import load_image
from auditors.methods import Explainer, get_explainer
from auditors.settings import ExplainSettings
from auditors.state import ExplainState
from auditors.tokens import group_words

DEFAULT_METHODS = ("tam", "msea_arc")


def resolve_methods(methods: Sequence[str] | str) -> list[Explainer]:
    """The registered explainers of ``methods`` (a name or names, duplicates dropped)."""
    if isinstance(methods, str):
        methods = (methods,)
    if not methods:
        raise AuditorInputError("no explanation method requested")
    return [get_explainer(m) for m in dict.fromkeys(methods)]


def check_prompt(prompt) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise AuditorInputError("the prompt is empty: give the question or instruction to explain")


def ranked_positions(prepared, explainers, settings: ExplainSettings) -> np.ndarray:
    """The prompt positions whose top-k next-token lists the methods will read (ARC's rankings of the
    prompt tokens), so that generation projects them along the way; none when no method needs them."""
    if not settings.include_prompt_context or not any(e.needs_rankings(settings) for e in explainers):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(prepared.prompt_positions, dtype=np.int64) - 1


def extra_scales(state: ExplainState, explainers: Sequence[Explainer]) -> list[float]:
    """Every scale but 1.0 the methods need, each prepared (and so validated) before any map is computed."""
    scales: dict[float, None] = {}
    for explainer in explainers:
        needed = explainer.needed_scales(state)
        state.check_scales(needed)
        scales.update(dict.fromkeys(s for s in needed if s != 1.0))
    return list(scales)


def attribute_all(state: ExplainState, explainers: Sequence[Explainer], timings: dict[str, float]) -> dict:
    """Every method's maps of one explained probe, timed per method."""
    maps: dict[str, np.ndarray] = {}
    for explainer in explainers:
        t0 = time.perf_counter()
        maps[explainer.name] = explainer.attribute(state)
        timings[f"{explainer.name}_s"] = time.perf_counter() - t0
    timings["extra_forwards_s"] = timings.get("extra_forwards_s", 0.0) + state.forward_seconds
    return maps


def build_explanation(state: ExplainState, explainers: Sequence[Explainer], maps: dict, timings: dict) -> Explanation:
    """The ``Explanation`` of one probe from its state and maps."""
    capture, prepared, settings = state.capture, state.prepared, state.settings
    word_index, words = group_words(state.answer_pieces, state.answer_special)
    used = settings.to_dict()
    used["resolved_rank_filter"] = state.rank_filter
    used["resolved_scales"] = list(state.scales) if any(e.needed_scales(state) != (1.0,) for e in explainers) else [1.0]
    return Explanation(
        prompt=state.prompt,
        answer=state.processor.tokenizer.decode([int(i) for i in capture.generated_ids], skip_special_tokens=True),
        token_ids=[int(i) for i in capture.generated_ids],
        tokens=list(state.answer_pieces),
        word_index=word_index,
        words=words,
        grid_shape=tuple(int(v) for v in prepared.grid_shape),
        image_size=tuple(int(v) for v in state.image.size),
        maps=maps,
        settings=used,
        architecture=type(state.model).__name__,
        prompt_token_ids=[int(i) for i in capture.input_ids[prepared.prompt_positions]],
        prompt_tokens=list(state.prompt_pieces),
        content_box=tuple(int(v) for v in prepared.content_box),
        timings=timings,
    )


def explain(model, processor, image, prompt: str, methods: Sequence[str] = DEFAULT_METHODS,
            settings: ExplainSettings | None = None) -> Explanation:
    """Explain what ``model`` looks at for each token of its greedy answer to ``prompt`` about ``image``.

    Cost: one generation at the original scale (hidden states captured on the way), one
    prompt-only forward per extra scale needed by ``msea``/``msea_arc`` (plus one teacher-forced
    replay per extra scale with ``align_scales``), one extra forward for ``attention``.
    """
    import torch

    settings = settings or ExplainSettings()
    explainers = resolve_methods(methods)
    check_prompt(prompt)
    pil = load_image(image)
    adapter = adapter_for(model)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with torch.inference_mode():
        t0 = time.perf_counter()
        prepared = adapter.prepare(model, processor, pil, prompt, 1.0)
        capture = generate_with_capture(model, processor, adapter, prepared, settings.max_new_tokens,
                                        ranked_positions=ranked_positions(prepared, explainers, settings),
                                        topk=settings.topk)
        timings["generate_s"] = time.perf_counter() - t0
        state = ExplainState(model, processor, adapter, pil, prompt, settings, prepared, capture)
        extra_scales(state, explainers)
        maps = attribute_all(state, explainers, timings)  # extra_forwards_s is included in the method times
    timings["total_s"] = time.perf_counter() - started
    return build_explanation(state, explainers, maps, timings)
