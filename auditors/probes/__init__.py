"""Probe sets (docs/DESIGN.md section 6): the folder format, its loader and validator, writers and importers.

A probe set is a folder with `probeset.yaml` (name, version, description, default_prompt, optional
source and licence: where the images came from and under which terms) and
`probes.jsonl` (one probe a line: id, image, optional prompt, optional objects with words and mask,
optional caption). Its identity is its content hash.
"""

from auditors.probes.hashing import content_hash
from auditors.probes.model import Probe, ProbeObject, ProbeProblem, ProbeSet, ProbeSetError
from auditors.probes.reader import MANIFEST_NAME, PROBES_NAME, load_probe_set, validate_probe_set
from auditors.probes.real_photos import build_real_photo_probe_set
from auditors.probes.writer import ObjectDraft, ProbeDraft, write_probe_set

__all__ = [
    "MANIFEST_NAME",
    "PROBES_NAME",
    "ObjectDraft",
    "Probe",
    "ProbeDraft",
    "ProbeObject",
    "ProbeProblem",
    "ProbeSet",
    "ProbeSetError",
    "build_real_photo_probe_set",
    "content_hash",
    "load_probe_set",
    "validate_probe_set",
    "write_probe_set",
]

