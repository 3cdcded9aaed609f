"""Every setting of the explainers, with its default and why (the "settings doc").

Which parts are reconstruction: TAM's settings reproduce the published reference code (parity
fixtures). MSEA and ARC come from "Explaining Multimodal LLMs via Intra-Modal Token Interactions"
(arXiv 2509.22415), whose exact scale set, RBO persistence, weighting formula and order of
operations are not public: the defaults below are this project's reconstruction, each one a
setting, and the quality benchmark reports ablations over them.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any, Literal

from auditors.errors import AuditorInputError

_INT_FIELDS = ("max_new_tokens", "upscale_below_grid_side", "topk", "rank_filter_min_grid_side", "attention_last_layers")
_BOOL_FIELDS = ("align_scales", "exclude_identical_context", "include_prompt_context", "joint_normalisation",
                "attention_rollout")


@dataclass(frozen=True)
class ExplainSettings:
    """Settings of ``auditors.explain`` (defaults in brackets).

    Generation
      max_new_tokens [32]: length limit of the greedy answer.

    MSEA (multi-scale explanation aggregation) -- reconstruction
      scales [None = automatic]: image scales relative to the original (1.0 must be included; it
        is the scale the answer is generated at). Automatic: ``downscales`` when the original
        vision grid has at least ``upscale_below_grid_side`` tokens on its shorter side, else
        ``upscales``; fixed-canvas families (LLaVA, InternVL) always use ``downscales``.
      downscales [(1.0, 0.75, 0.5)]: for large images (the paper relates scales by factors of 2).
      upscales [(1.0, 1.5, 2.0)]: for small images, where shrinking would leave too few tokens.
      upscale_below_grid_side [8]: the grid size below which the automatic choice upscales.
      per_scale_normalisation ["match_original_max"]: how each scale's map of a token is scaled
        before averaging. ``match_original_max`` rescales it to the same maximum as the token's
        original-scale map, so aggregated maps stay in logit units (what ARC's text scores and
        the joint normalisation compare against) and a single-scale MSEA equals the single-scale
        path exactly; ``minmax`` maps each to [0, 1]; ``none`` averages raw logit maps.
      resize_interpolation ["bilinear"]: how a scale's map is resized onto the original grid.
      align_scales [False]: weight each scale, per token, by the RBO of its top-k next-token list
        with the original scale's. Costs one teacher-forced replay per extra scale (the floor
        is one prompt-only forward per scale), so it is off by default; the ablation decides.

    ARC (activation ranking correlation) -- reconstruction
      topk [50]: length of the ranked candidate lists compared by RBO.
      rbo_p [0.9]: RBO persistence (extrapolated RBO; identical lists give 1).
      arc_weighting ["relevance_incoherence"]: context weight w_i of context token i:
        ``relevance_incoherence``: s_i * (1 - r_i) (docs/DESIGN.md); ``incoherence``: (1 - r_i);
        ``relevance``: s_i (TAM's weighting, i.e. no ranking correlation).
      exclude_identical_context [True]: like TAM, context tokens whose text equals the explained
        token's are not interference.
      include_prompt_context [True]: the user prompt's tokens are context (as in TAM).

    TAM
      tam_mode ["corrected"]: ``corrected`` explains every generated token with its own class
        (including token 0, where the reference uses another class) and uses as context the
        prompt tokens and earlier answer tokens; ``reference`` reproduces the reference
        implementation bit for bit, quirks included (see auditors/core/tam_reference.py).

    Post-processing (tam corrected, arc, msea, msea_arc)
      joint_normalisation [True]: min-max the image map jointly with the token's text scores
        (TAM's convention; a token explained by text gets a faint map). Off: per-map min-max.
      rank_filter ["auto"]: where the rank Gaussian filter applies: ``final`` (after everything),
        ``per_scale`` (on each scale's map before MSEA aggregation; msea/msea_arc only, the
        others then filter at the end) or ``none``. ``auto``: ``final`` when the original vision
        grid has at least ``rank_filter_min_grid_side`` tokens on its shorter side, else ``none``.
        Why: the filter denoises over 3x3 windows of tokens; on a grid of a few tokens a side one
        window spans most of the image and blurs neighbouring objects together (on the 4x4 demo
        grid it cut TAM's pointing game from 0.67 to 0.38 on a probe set kept apart from the
        quality benchmark's: benchmarks/rank_filter_decision.py). Real VLM grids are 16+ a side.
      rank_filter_min_grid_side [8]: the grid size from which ``auto`` filters.

    Attention baseline
      attention_last_layers [4]: heads are averaged over the last N layers (all if fewer).
      attention_rollout [False]: attention rollout over all layers instead (0.5 A + 0.5 I).
    """

    max_new_tokens: int = 32
    scales: tuple[float, ...] | None = None
    downscales: tuple[float, ...] = (1.0, 0.75, 0.5)
    upscales: tuple[float, ...] = (1.0, 1.5, 2.0)
    upscale_below_grid_side: int = 8
    per_scale_normalisation: Literal["match_original_max", "minmax", "none"] = "match_original_max"
    resize_interpolation: Literal["bilinear", "nearest"] = "bilinear"
    align_scales: bool = False
    topk: int = 50
    rbo_p: float = 0.9
    arc_weighting: Literal["relevance_incoherence", "incoherence", "relevance"] = "relevance_incoherence"
    exclude_identical_context: bool = True
    include_prompt_context: bool = True
    tam_mode: Literal["corrected", "reference"] = "corrected"
    joint_normalisation: bool = True
    rank_filter: Literal["auto", "final", "per_scale", "none"] = "auto"
    rank_filter_min_grid_side: int = 8
    attention_last_layers: int = 4
    attention_rollout: bool = False

    def __post_init__(self) -> None:
        self._check_types()
        choices = {"per_scale_normalisation": ("match_original_max", "minmax", "none"),
                   "resize_interpolation": ("bilinear", "nearest"),
                   "arc_weighting": ("relevance_incoherence", "incoherence", "relevance"),
                   "tam_mode": ("corrected", "reference"), "rank_filter": ("auto", "final", "per_scale", "none")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise AuditorInputError(f"setting {name}={getattr(self, name)!r} is not one of {allowed}")
        if self.max_new_tokens < 1:
            raise AuditorInputError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.topk < 1:
            raise AuditorInputError(f"topk must be >= 1, got {self.topk}")
        if not 0.0 < self.rbo_p < 1.0:
            raise AuditorInputError(f"rbo_p must be in (0, 1), got {self.rbo_p}")
        for name in ("scales", "downscales", "upscales"):
            value = getattr(self, name)
            if value is None:
                continue
            if not value or any(float(s) <= 0 for s in value):
                raise AuditorInputError(f"{name} must be a non-empty set of positive scales, got {value}")
            if 1.0 not in [float(s) for s in value]:
                raise AuditorInputError(f"{name} must include 1.0 (the scale the answer is generated at), got {value}")
        if self.rank_filter_min_grid_side < 1:
            raise AuditorInputError(f"rank_filter_min_grid_side must be >= 1, got {self.rank_filter_min_grid_side}")
        if self.attention_last_layers < 1:
            raise AuditorInputError(f"attention_last_layers must be >= 1, got {self.attention_last_layers}")

    def _check_types(self) -> None:
        """Each value of the type its field declares. Why first: a config file's `max_new_tokens = "8"`
        would otherwise fail as "'<' not supported between 'str' and 'int'", naming no setting."""
        for name, value in asdict(self).items():
            if name in _BOOL_FIELDS and not isinstance(value, bool):
                raise AuditorInputError(f"{name} must be true or false, got {value!r}")
            if name in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
                raise AuditorInputError(f"{name} must be a whole number, got {value!r}")
            if name == "rbo_p" and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise AuditorInputError(f"rbo_p must be a number, got {value!r}")
            if name in ("scales", "downscales", "upscales") and value is not None and any(
                    isinstance(s, bool) or not isinstance(s, numbers.Real) for s in value):
                raise AuditorInputError(f"{name} must be a list of numbers, got {list(value)!r}")

    def resolve_scales(self, grid_shape: tuple[int, int], fixed_canvas: bool) -> tuple[float, ...]:
        """The scales actually used (scale 1.0 first, duplicates removed)."""
        if self.scales is not None:
            chosen = self.scales
        elif fixed_canvas or min(grid_shape) >= self.upscale_below_grid_side:
            chosen = self.downscales
        else:
            chosen = self.upscales
        ordered = [1.0] + [float(s) for s in chosen if float(s) != 1.0]
        return tuple(dict.fromkeys(ordered))

    def resolve_rank_filter(self, grid_shape: tuple[int, int]) -> Literal["final", "per_scale", "none"]:
        """The rank-filter placement actually used on a generation whose original grid is ``grid_shape``."""
        if self.rank_filter != "auto":
            return self.rank_filter
        return "final" if min(grid_shape) >= self.rank_filter_min_grid_side else "none"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("scales", "downscales", "upscales"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExplainSettings":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("scales", "downscales", "upscales"):
            if known.get(key) is not None:
                if not isinstance(known[key], (list, tuple)):
                    raise AuditorInputError(f"{key} must be a list of numbers, got {known[key]!r}")
                known[key] = tuple(known[key])
        return cls(**known)
