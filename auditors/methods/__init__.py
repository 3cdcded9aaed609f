"""Registry of explanation methods: one class per method, one instance registered by name."""

from __future__ import annotations

from auditors.methods.arc import ActivationRankingCorrelation
from auditors.methods.attention import AttentionBaseline
from auditors.methods.base import EXPLAINERS, Explainer, get_explainer, register_explainer
from auditors.methods.logit_lens import LogitLens
from auditors.methods.msea import MultiScaleAggregation
from auditors.methods.msea_arc import MultiScaleARC
from auditors.methods.tam import TokenActivationMap

for _explainer in (LogitLens(), TokenActivationMap(), MultiScaleAggregation(), ActivationRankingCorrelation(),
                   MultiScaleARC(), AttentionBaseline()):
    register_explainer(_explainer)


def available_methods() -> list[str]:
    return list(EXPLAINERS)


__all__ = ["EXPLAINERS", "Explainer", "available_methods", "get_explainer", "register_explainer"]
