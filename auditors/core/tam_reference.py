"""TAM exactly as the reference implementation computes it (the parity mode).

The reference (xmed-lab/TAM) explains, in this order: every user-prompt token (round 0), then
one record for the last input token, then every generated token from the second on. Two quirks of
the reference are kept here on purpose, because this function exists to reproduce it bit for bit
(see tests/auditors/fixtures/tam_reference/README.md):

* record 0 uses the argmax class at the first prompt position, not the first prompt token's id;
* the round-0 record after the prompt uses the last *input* token's id, not generated token 0's,
  and the map the reference returns for generated token 0 is record 0's map.

``auditors.methods.tam`` (mode ``corrected``, the default) explains generated token 0 with its own
class instead. Inputs are positions and per-class logits; no model is needed, which is what lets
the parity fixtures test this without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from auditors.core.eci import remove_interference
from auditors.core.normalise import joint_minmax, to_uint8_truncated
from auditors.core.rank_filter import rank_gaussian_filter

ScoresForClasses = Callable[[np.ndarray], np.ndarray]
"""class ids [n] -> float32 logits [n, S-1] of each class at every sequence position 0..S-2."""


@dataclass
class TamTrace:
    """Every intermediate of the reference pipeline, one row per explained record."""

    classes: np.ndarray  # [N] class id used for each record
    rounds: np.ndarray  # [N] generation round of each record (0 for the prompt records)
    raw_maps: np.ndarray  # [N, n_vision] float32
    txt_scores: list[np.ndarray]  # per record, float32, the last entry is the record's self score
    eci_applied: np.ndarray  # [N] bool
    eci_context: list[np.ndarray]  # per record, indices of the context records
    eci_weights: list[np.ndarray]  # per record, float32
    eci_interference: np.ndarray  # [N, n_vision] float32
    eci_alpha: np.ndarray  # [N] float64
    eci_maps: np.ndarray  # [N, n_vision] float64
    norm_maps: np.ndarray  # [N, *vision_shape] float64
    rgf_maps: np.ndarray  # [N, *vision_shape] float64
    final_maps: np.ndarray  # [N, *vision_shape] uint8
    round_maps: np.ndarray  # [n_generated, *vision_shape] uint8: what the reference returns per token
    round_first_record: np.ndarray  # [n_generated]


def reference_record_classes(token_ids: Sequence[int], n_input: int, prompt_span: tuple[int, int],
                             first_argmax_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The class id and round of each record, in the reference's order (quirks included)."""
    ids = np.asarray(token_ids, dtype=np.int64)
    p0, p1 = prompt_span
    n_prompt = p1 - p0
    n_generated = len(ids) - n_input
    classes = [int(first_argmax_class)] + [int(ids[p0 + i]) for i in range(1, n_prompt)]
    classes.append(int(ids[n_input - 1]))  # quirk: the last input token, not generated token 0
    classes += [int(ids[n_input + r]) for r in range(1, n_generated)]
    rounds = [0] * (n_prompt + 1) + list(range(1, n_generated))
    return np.asarray(classes, dtype=np.int64), np.asarray(rounds, dtype=np.int64)


def tam_reference_trace(token_ids: Sequence[int], n_input: int, vision_span: tuple[int, int],
                        prompt_span: tuple[int, int], vision_shape: Sequence[int], text_tokens: Sequence[str],
                        scores_for_classes: ScoresForClasses, first_argmax_class: int) -> TamTrace:
    """Run the reference TAM pipeline and return all of its intermediates.

    ``text_tokens`` are the decoded pieces of the prompt tokens followed by the generated tokens
    (what ECI compares to find identical context tokens).
    """
    n_input = int(n_input)
    a, b = (int(v) for v in vision_span)
    p0, p1 = (int(v) for v in prompt_span)
    n_prompt = p1 - p0
    classes, rounds = reference_record_classes(token_ids, n_input, (p0, p1), first_argmax_class)
    n_records = len(classes)
    if len(text_tokens) != n_records:
        raise ValueError(f"expected {n_records} text tokens (prompt + generated), got {len(text_tokens)}")
    logits = np.asarray(scores_for_classes(classes), dtype=np.float32)

    raw_maps = np.zeros((n_records, b - a), dtype=np.float32)
    txt_scores: list[np.ndarray] = []
    for i in range(n_records):
        s = np.maximum(logits[i, : n_input + rounds[i]], np.float32(0.0))
        raw_maps[i] = s[a:b]
        txt_scores.append(np.concatenate([s[p0:p1], s[n_input - 1: n_input + rounds[i]]]).astype(np.float32))

    eci_applied = np.zeros(n_records, dtype=bool)
    eci_context: list[np.ndarray] = []
    eci_weights: list[np.ndarray] = []
    interference = np.zeros_like(raw_maps)
    alphas = np.zeros(n_records, dtype=np.float64)
    eci_maps = raw_maps.astype(np.float64)
    for i in range(n_records):
        if i == 0:
            eci_context.append(np.zeros(0, dtype=np.int64))
            eci_weights.append(np.zeros(0, dtype=np.float32))
            continue
        eci_applied[i] = True
        context = np.asarray([j for j in range(i) if text_tokens[j] != text_tokens[i]], dtype=np.int64)
        scores = txt_scores[i][context]
        weights = (scores / (scores.sum() + np.float32(1e-8))).astype(np.float32)
        eci_maps[i], interference[i], alphas[i] = remove_interference(raw_maps[i], raw_maps[context], weights)
        eci_context.append(context)
        eci_weights.append(weights)

    shape = tuple(int(v) for v in vision_shape)
    norm_maps = np.stack([joint_minmax(eci_maps[i], txt_scores[i][:-1]).reshape(shape) for i in range(n_records)])
    rgf_maps = np.stack([rank_gaussian_filter(m) for m in norm_maps])
    final_maps = to_uint8_truncated(rgf_maps)
    n_generated = len(token_ids) - n_input
    first = np.asarray([0] + [n_prompt + r for r in range(1, n_generated)], dtype=np.int64)
    return TamTrace(classes=classes, rounds=rounds, raw_maps=raw_maps, txt_scores=txt_scores,
                    eci_applied=eci_applied, eci_context=eci_context, eci_weights=eci_weights,
                    eci_interference=interference, eci_alpha=alphas, eci_maps=eci_maps, norm_maps=norm_maps,
                    rgf_maps=rgf_maps, final_maps=final_maps, round_maps=final_maps[first], round_first_record=first)
