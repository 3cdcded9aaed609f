"""What every metric reads for one (explanation, probe, method): words, their classes, masks, maps.

Why build it once: word matching, mask loading and the TAM caption evaluation are shared by several
metrics; computing them once per probe and method keeps the metrics small and consistent.

Word matching rule (documented because scores depend on it): answer words and object words are
compared case-insensitively with punctuation stripped at both ends. A word naming several objects
(e.g. "red" with a red circle and a red square) is narrowed by its neighbours (the object that also
owns the previous or next answer word, as in "red circle"); if still ambiguous, the word's mask is
the union of the candidates' masks (its own category).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from auditors.metrics.base import MetricError
from auditors.metrics.tam_protocol import CaptionEvaluation, evaluate_caption, to_uint8_maps
from auditors.metrics.words import (
    FUNCTION_WORD,
    FUNCTION_WORDS,
    NOUN_WITHOUT_MASK,
    OTHER_WORD,
    normalize_word,
)

if TYPE_CHECKING:
    from PIL import Image

    from auditors.explanation import Explanation
    from auditors.metrics.faithfulness import FaithfulnessSettings
    from auditors.probes import Probe

# images -> [n_images, n_answer_tokens] teacher-forced probabilities (see faithfulness.replay_scorer)
ProbabilityScorer = Callable[[Sequence[Any]], np.ndarray]


@dataclass(frozen=True)
class AnswerWord:
    index: int  # position in explanation.words
    text: str
    key: str  # normalised text
    label: str  # display key, unique within the answer ("dog", "dog#2")
    tokens: tuple[int, ...]
    category: int  # > 0 masked object(s); else a TAM label (-1, -2, -3)


@dataclass(frozen=True)
class Category:
    id: int
    objects: tuple[int, ...]  # indices into probe.objects
    mask: np.ndarray  # bool [H, W]

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean())


class ProbeContext:
    """One method's maps of one explanation, aligned with one probe's objects."""

    def __init__(
        self,
        explanation: "Explanation",
        probe: "Probe | None",
        method: str,
        noun_vocabulary: frozenset[str] | set[str] | None = None,
        scorer: ProbabilityScorer | None = None,
        masks: Sequence[np.ndarray] | None = None,
        image: "Image.Image | None" = None,
        faithfulness: "FaithfulnessSettings | None" = None,
        word_classes: Mapping[str, str] | None = None,
    ):
        if method not in explanation.maps:
            raise MetricError(f"explanation has no maps for method {method!r} (has {sorted(explanation.maps)})")
        self.explanation = explanation
        self.probe = probe
        self.method = method
        self.scorer = scorer
        self._image = image
        if faithfulness is None:
            from auditors.metrics.faithfulness import FaithfulnessSettings

            faithfulness = FaithfulnessSettings()
        self.faithfulness = faithfulness
        maps = np.asarray(explanation.maps[method], dtype=np.float32)
        if maps.ndim != 3 or maps.shape[0] != len(explanation.token_ids):
            raise MetricError(
                f"maps[{method!r}] must be [n_tokens={len(explanation.token_ids)}, h, w], got {maps.shape}"
            )
        if explanation.content_box is not None:
            x0, y0, x1, y1 = explanation.content_box
            maps = maps[:, y0:y1, x0:x1]
        self.maps = maps
        if masks is None and probe is not None:
            masks = [probe.load_mask(i) for i in range(len(probe.objects))]
        self.object_masks: list[np.ndarray] = [np.asarray(m, bool) for m in (masks or [])]
        self.object_keys: list[set[str]] = (
            [{normalize_word(w) for w in obj.words} for obj in probe.objects] if probe is not None else []
        )
        width, height = explanation.image_size
        self.mask_shape: tuple[int, int] = (
            self.object_masks[0].shape if self.object_masks else (int(height), int(width))
        )
        self.noun_vocabulary = {normalize_word(w) for w in (noun_vocabulary or ())}
        self.word_classes: dict[str, str] = {normalize_word(w): c for w, c in (word_classes or {}).items()}
        self.categories: dict[int, Category] = {}
        self.words: list[AnswerWord] = self._match_words()

    @property
    def has_masks(self) -> bool:
        return bool(self.object_masks)

    @property
    def image(self):
        """The probe image (PIL RGB), read on first use; None without a probe or an image."""
        if self._image is None and self.probe is not None:
            self._image = self.probe.load_image()
        return self._image

    @cached_property
    def maps_u8(self) -> np.ndarray:
        return to_uint8_maps(self.maps)

    @cached_property
    def caption(self) -> CaptionEvaluation:
        """The TAM protocol on this answer (categories = this probe's matched objects)."""
        return evaluate_caption(
            self.maps_u8,
            {cid: cat.mask for cid, cat in self.categories.items()},
            self.mask_shape,
            [w.tokens for w in self.words],
            [w.category for w in self.words],
        )

    def word_map(self, word: AnswerWord) -> np.ndarray:
        """The map of a word: the mean of its tokens' maps (float, content box only)."""
        return self.maps[list(word.tokens)].mean(axis=0)

    def object_words(self) -> list[AnswerWord]:
        return [w for w in self.words if w.category > 0]

    def _match_words(self) -> list[AnswerWord]:
        explanation = self.explanation
        groups: dict[int, list[int]] = {}
        for token, word in enumerate(explanation.word_index):
            if word >= 0:
                groups.setdefault(int(word), []).append(token)
        keys = [normalize_word(text) for text in explanation.words]
        candidates = [{i for i, owned in enumerate(self.object_keys) if key and key in owned} for key in keys]
        resolved: list[frozenset[int]] = []
        for k, found in enumerate(candidates):
            if len(found) > 1:
                for neighbour in (k - 1, k + 1):
                    if 0 <= neighbour < len(candidates) and candidates[neighbour]:
                        narrowed = found & candidates[neighbour]
                        if len(narrowed) == 1:
                            found = narrowed
                            break
            resolved.append(frozenset(found))
        category_of: dict[frozenset[int], int] = {}
        for objects in resolved:
            if objects and objects not in category_of:
                category_of[objects] = len(category_of) + 1
                mask = np.zeros(self.mask_shape, bool)
                for i in objects:
                    mask |= self.object_masks[i]
                self.categories[category_of[objects]] = Category(category_of[objects], tuple(sorted(objects)), mask)
        words: list[AnswerWord] = []
        seen: dict[str, int] = {}
        for k, text in enumerate(explanation.words):
            tokens = tuple(groups.get(k, ()))
            if not tokens:
                continue
            key = keys[k]
            if resolved[k]:
                category = category_of[resolved[k]]
            elif key in self.noun_vocabulary:
                category = NOUN_WITHOUT_MASK
            elif key in FUNCTION_WORDS:
                category = FUNCTION_WORD
            else:
                category = OTHER_WORD
            seen[key] = seen.get(key, 0) + 1
            label = key if seen[key] == 1 else f"{key}#{seen[key]}"
            words.append(AnswerWord(k, text, key, label, tokens, category))
        return words
