"""Exception types of the explainers: callers catch these, never bare ``Exception``.

WHY separate types: the audit flow treats a bad probe (unreadable image, empty prompt) differently
from a model it cannot explain at all (unsupported architecture), and both differently from bugs.
"""

from __future__ import annotations


class AuditorError(Exception):
    """Base class of every error raised on purpose by ``auditors``."""


class AuditorInputError(AuditorError, ValueError):
    """The input (image, prompt, settings, scale set) cannot be explained as given."""


class UnsupportedModelError(AuditorError):
    """The model's architecture has no adapter, or the model lacks a part the explainers need."""
