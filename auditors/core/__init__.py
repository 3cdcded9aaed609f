"""Numerical building blocks shared by the explainers (numpy only, no torch, no model)."""

from auditors.core.eci import least_squares_scale, remove_interference
from auditors.core.normalise import joint_minmax, to_uint8_truncated
from auditors.core.rank_filter import rank_gaussian_filter
from auditors.core.rbo import rbo_extrapolated, rbo_many

__all__ = ["least_squares_scale", "remove_interference", "joint_minmax", "to_uint8_truncated",
           "rank_gaussian_filter", "rbo_extrapolated", "rbo_many"]
