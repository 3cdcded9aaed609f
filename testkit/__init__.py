"""Loopback services and scenario builders shared by the tests and the benchmarks; not part of the
shipped packages.

Why a package of its own: the benchmarks need the same real servers (`prefect server`, `mlflow
server`, a free port) and the same stop-on-signal scenarios as the tests, and a benchmark that
imports from `tests` builds its input from test factories. One home here, imported by `tests/` and
`benchmarks/` alike, keeps a single implementation of each. `pyproject.toml` leaves it out of the
wheel, and `tests/test_layers.py` keeps the production packages from importing it.
"""
