"""Typed probe-set objects (docs/DESIGN.md section 6): what the loader returns and every consumer reads.

Why dataclasses with paths rather than loaded pixels: a probe set can hold hundreds of images, and
most consumers (storage, drift metrics) never need the pixels; images and masks are read on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from auditors.errors import AuditorInputError
from auditors.probes.files import decode_image, decode_mask
from comparison.words import normalize_word


class ProbeSetError(AuditorInputError):
    """A probe set that cannot be used; `problems` lists every problem found, not just the first."""

    SHOWN = 20  # problems spelled out in the message (all of them stay in `problems`)

    def __init__(self, root: Path | str, problems: list["ProbeProblem"]):
        self.root = Path(root)
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems[: self.SHOWN])
        more = f"\n  (and {len(self.problems) - self.SHOWN} more)" if len(self.problems) > self.SHOWN else ""
        super().__init__(f"invalid probe set {self.root} ({len(self.problems)} problem(s)):\n{lines}{more}")


@dataclass(frozen=True)
class ProbeProblem:
    """One thing wrong with a probe set folder.

    `code` is stable (tests and tools match on it); `file` is the folder's file the problem was
    found in (`probes.jsonl` for a probe's line, also when its image is the culprit, which the
    message names), `line` its 1-based line when known.
    """

    code: str
    message: str
    line: int | None = None
    probe_id: str | None = None
    file: str | None = "probes.jsonl"

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f" line {self.line}"
        return f"{where}: {self.message} [{self.code}]" if where else f"{self.message} [{self.code}]"


@dataclass(frozen=True)
class ProbeObject:
    """One object of a probe: the words that name it and its ground-truth mask (relative path)."""

    words: tuple[str, ...]
    mask_path: str


@dataclass(frozen=True)
class Probe:
    """One probe: an image, the prompt to ask about it and optionally its named objects with masks.

    `caption` is an optional reference answer (used for caption accuracy); `metadata` holds any
    extra JSON fields of the line, untouched.
    """

    id: str
    image_path: str
    prompt: str
    root: Path
    objects: tuple[ProbeObject, ...] = ()
    caption: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def image_file(self) -> Path:
        return self.root / self.image_path

    def load_image(self) -> Image.Image:
        """The probe image as RGB (models expect three channels whatever the file holds), decoded
        by the same function that validated it (`auditors.probes.files`)."""
        return decode_image(self.image_file, self.image_path)

    def load_mask(self, index: int) -> np.ndarray:
        """Object `index`'s mask as a bool array [height, width]; any non-zero pixel is foreground."""
        mask_path = self.objects[index].mask_path
        return decode_mask(self.root / mask_path, mask_path)

    def object_words(self) -> tuple[tuple[str, ...], ...]:
        return tuple(obj.words for obj in self.objects)


@dataclass(frozen=True)
class ProbeSet:
    """A validated probe set; `content_hash` (sha256 of manifest and files) is its identity.

    `word_classes` (manifest `word_classes`, class -> words, stored here as lower-cased word ->
    class) says what kind of word each object word is (e.g. colour, shape), so a comparison can
    say which kind of word went wrong; `ordered_objects` (manifest `ordered_objects: true`) says
    that each probe lists its objects in the order its reference answer names them.
    `source` and `licence` are what the manifest declares about where the images came from and
    under which terms (optional; a compliance dossier shows them, and they are part of the hash).
    """

    name: str
    version: str
    description: str
    default_prompt: str | None
    content_hash: str
    root: Path
    probes: tuple[Probe, ...]
    word_classes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    ordered_objects: bool = False
    source: str | None = None
    licence: str | None = None

    def __len__(self) -> int:
        return len(self.probes)

    def __iter__(self):
        return iter(self.probes)

    def get(self, probe_id: str) -> Probe:
        for probe in self.probes:
            if probe.id == probe_id:
                return probe
        raise KeyError(f"probe set {self.name!r} has no probe {probe_id!r}")

    def noun_vocabulary(self) -> frozenset[str]:
        """Every object word of the set, lower-cased: the 'nouns' of the TAM word classes."""
        return frozenset(word.lower() for probe in self.probes for obj in probe.objects for word in obj.words)

    def word_class_map(self) -> dict[str, str]:
        """Normalised object word -> class: the manifest's `word_classes`, else classes by position.

        By position: where every object has the same number (2 or more) of words, the k-th word of
        each object is of class "object-word-k" (a word seen at two positions gets none). Empty
        when objects differ in length or have one word each: then object words are not split.
        """
        if self.word_classes:
            return {normalize_word(w): c for w, c in self.word_classes.items()}
        lengths = {len(obj.words) for probe in self.probes for obj in probe.objects}
        if len(lengths) != 1 or min(lengths) < 2:
            return {}
        seen: dict[str, set[int]] = {}
        for probe in self.probes:
            for obj in probe.objects:
                for position, word in enumerate(obj.words):
                    seen.setdefault(normalize_word(word), set()).add(position)
        return {word: f"object-word-{min(pos) + 1}" for word, pos in seen.items() if len(pos) == 1}
