"""Word groups: which kind of word a per-word value is about, so a verdict can say which word went
wrong ("the first colour word") instead of pooling every object word.

Group labels (stored in `MetricComparison.group`):
- a class, e.g. "colour": every object word of that class (classes come from the probe set,
  `ProbeSetLayout.word_classes`);
- a slot, "<class>@<k>", e.g. "colour@1": the k-th word of that class in the answer (for answer
  metrics, whose values are stored per slot already, the k-th of the reference or of the answer,
  see `auditors.metrics.answer`). For a word both versions generated the candidate's answer decides
  the slot;
- a word, "word:<word>", e.g. "word:red" (when the settings ask for single words).
Words of no class (function words, words no object has) are in no group.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping

from comparison.layout import ProbeSetLayout
from comparison.words import WordKey, normalize_word, occurrence_keys

SLOT = "@"
WORD_PREFIX = "word:"
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def is_slot(label: str) -> bool:
    return SLOT in label


def split_label(label: str) -> WordKey:
    """A stored per-word label ("red", "red#2") as (word, occurrence from 0)."""
    word, _, repeat = label.partition("#")
    return normalize_word(word), (int(repeat) - 1 if repeat.isdigit() else 0)


def answer_slots(words: Mapping[int, str], classes: Mapping[str, str]) -> dict[WordKey, str]:
    """(word, occurrence) -> "<class>@<k>" for each classed word of one answer, in answer order."""
    seen: Counter[str] = Counter()
    slots: dict[WordKey, str] = {}
    keys = occurrence_keys(dict(words))
    for key in (keys[i] for i in sorted(keys)):
        word_class = classes.get(key[0])
        if word_class is not None:
            seen[word_class] += 1
            slots[key] = f"{word_class}{SLOT}{seen[word_class]}"
    return slots


def groups_of(label: str, slots: Mapping[WordKey, str], layout: ProbeSetLayout, with_words: bool) -> tuple[str, ...]:
    """The groups a per-word value labelled `label` belongs to (see the module note)."""
    if is_slot(label):
        return (label.split(SLOT)[0], label)
    key = split_label(label)
    word_class = layout.class_of(key[0])
    if word_class is None:
        return ()
    out = [word_class]
    if key in slots:
        out.append(slots[key])
    if with_words:
        out.append(WORD_PREFIX + key[0])
    return tuple(out)


def describe_group(group: str) -> str:
    """Plain words for a group label: "colour words", "the first colour word", "the word 'red'"."""
    if group.startswith(WORD_PREFIX):
        return f"the word '{group[len(WORD_PREFIX):]}'"
    if is_slot(group):
        word_class, _, k = group.partition(SLOT)
        n = int(k) if k.isdigit() else 0
        return f"the {_ORDINALS.get(n, f'{n}th')} {word_class} word"
    return f"{group} words"
