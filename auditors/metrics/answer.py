"""Answer metrics: does the answer name what the image holds? (method-independent, method "answer")

Why: a probe's object words are ground truth for the answer as well as for the maps. A version
that names the wrong colour where the baseline named the right one is worse whatever its maps
show, and only the answer says so: map comparisons pair words both versions generated and so
never see a word one of them got wrong.

Definitions (each documented because the scores depend on them):
* object vocabulary: every object word of the probe set (`noun_vocabulary`) and of this probe;
* a word's class: the probe set's word classes (`ProbeSet.word_class_map`), else "object word";
* slots: the object-vocabulary words of a text, each labelled `<class>@<k>`, the k-th word of its
  class in that text ("colour@1": the first colour word). Values are stored per slot, so the
  comparison pairs "the first colour word" of both versions whatever word each one chose;
* `answer_recall`: per slot of the reference (the probe's `caption` when it has one, else its
  objects' words in the listed order), 1 when the answer names that word (the j-th occurrence of a
  word needs j occurrences in the answer), else 0;
* `answer_precision`: per slot of the answer, 1 when an object of this probe has that word, else 0
  (a named colour no object has is a 0);
* `answer_exact`: per probe with a caption, 1 when the answer equals it (case, edge punctuation and
  spacing ignored).
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, Iterable

from auditors.metrics.base import Metric, MetricValue, register_metric
from auditors.metrics.context import ProbeContext
from comparison.layout import DEFAULT_CLASS
from comparison.rules import ANSWER_METHOD  # the one name the comparison reads the answer values by
from comparison.words import normalize_word


def text_words(text: str) -> list[str]:
    """Normalised words of a text (empty pieces dropped)."""
    return [w for w in (normalize_word(piece) for piece in text.split()) if w]


def slots(words: Iterable[str], vocabulary: set[str] | frozenset[str], classes: dict[str, str]) -> list[tuple[str, str]]:
    """(slot label, word) for each vocabulary word of `words`, in order: "<class>@<k>"."""
    seen: Counter[str] = Counter()
    out = []
    for word in words:
        if word not in vocabulary:
            continue
        word_class = classes.get(word, DEFAULT_CLASS)
        seen[word_class] += 1
        out.append((f"{word_class}@{seen[word_class]}", word))
    return out


class AnswerMetric(Metric):
    """One value per probe (and per slot), not per explainer: stored under method "answer"."""

    direction = "higher_is_better"
    needs_masks = False
    per_method: ClassVar[bool] = False

    def value(self, ctx, value, word=None, word_index=None):
        return MetricValue(ANSWER_METHOD, self.name, float(value), self.direction, word, self.version, word_index)

    @staticmethod
    def vocabulary(ctx: ProbeContext) -> set[str]:
        return set(ctx.noun_vocabulary) | {w for keys in ctx.object_keys for w in keys}

    @staticmethod
    def answer_words(ctx: ProbeContext) -> list[str]:
        return [w.key for w in ctx.words]


@register_metric
class AnswerRecall(AnswerMetric):
    name = "answer_recall"
    description = "Per reference slot (caption, else object words): 1 if the answer names that word."

    def compute(self, ctx):
        if ctx.probe is None or not ctx.probe.objects:
            return []
        vocabulary = self.vocabulary(ctx)
        if ctx.probe.caption:
            reference = text_words(ctx.probe.caption)
        else:
            reference = [normalize_word(w) for obj in ctx.probe.objects for w in obj.words]
        available = Counter(self.answer_words(ctx))
        needed: Counter[str] = Counter()
        values = []
        for label, word in slots(reference, vocabulary, ctx.word_classes):
            needed[word] += 1
            values.append(self.value(ctx, float(available[word] >= needed[word]), label))
        return self.probe_values(ctx, values)


@register_metric
class AnswerPrecision(AnswerMetric):
    name = "answer_precision"
    description = "Per object-vocabulary word of the answer: 1 if an object of this probe has it."

    def compute(self, ctx):
        if ctx.probe is None or not ctx.probe.objects:
            return []
        held = {w for keys in ctx.object_keys for w in keys}
        values = [self.value(ctx, float(word in held), label)
                  for label, word in slots(self.answer_words(ctx), self.vocabulary(ctx), ctx.word_classes)]
        return self.probe_values(ctx, values)


@register_metric
class AnswerExact(AnswerMetric):
    name = "answer_exact"
    per_word = False
    description = "1 if the answer equals the probe's reference caption (case and punctuation ignored)."

    def compute(self, ctx):
        if ctx.probe is None or not ctx.probe.caption:
            return []
        return [self.value(ctx, float(text_words(ctx.explanation.answer) == text_words(ctx.probe.caption)))]

