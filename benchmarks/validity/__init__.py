"""The validity benchmark: does the audit's alarm ring for shortcuts, and only for them?

Over many trained demo models (`auditors.demo.zoo`: clean models and shortcut models of every cue
kind, N seeds each), each shortcut is audited against a clean champion (detection) and each clean
retrain against the same champion (false alarm), through the project's real audit and comparison
code (`driver`). The verdict's thresholds are calibrated on clean retrains of seeds kept apart
(`plan`, `calibration`); rates get Wilson intervals (`summary`). Run `python -m benchmarks.validity`.
"""
