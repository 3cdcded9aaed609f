"""The one error the comparison room raises.

Why one type: the command line answers bad comparison settings and runs that cannot be compared
with exit code 2 and one line; it needs a single class to recognise, whichever module raised it.
"""

from __future__ import annotations


class ComparisonError(ValueError):
    """The two runs cannot be compared (nothing in common, inconsistent input) or the comparison
    settings are invalid."""
