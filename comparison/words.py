"""What "the same word" means, everywhere in the project.

Why one definition: the metrics match answer words to a probe's object words, the regression
check pairs the words two versions both generated, and the report shows the baseline's map of the
word the candidate's map is about. If these disagreed ("Circle." is a circle for one and not for
the other), a word could be scored, compared and shown as three different things.

A word is normalised by removing tokenizer space markers (byte-level BPE, sentencepiece,
wordpiece), surrounding whitespace, case, and punctuation at either end ("Circle." -> "circle";
inner punctuation such as "t-shirt" stays). Two answers' words are paired by occurrence: the k-th
"red" of one answer with the k-th "red" of the other.

Records are read structurally (`GenerationLike`, `TokenMapLike`), so `storage.records` objects
work here without this package importing `storage`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Iterable, Protocol, Sequence

_TOKEN_MARKERS = ("\u0120", "\u2581", "##")  # byte-level BPE space, sentencepiece space, wordpiece
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)

WordKey = tuple[str, int]  # (normalised word, occurrence number within the answer)


class GenerationLike(Protocol):
    """An answer as token pieces, each with the number of the word it belongs to (-1: none)."""

    tokens: Sequence[str]
    word_index: Sequence[int]


class TokenMapLike(Protocol):
    """One token's map record: which token, which word, its text."""

    token_index: int
    word_index: int
    token_text: str


def normalize_word(text: str) -> str:
    """The matching key of a word: no tokenizer markers, no case, no edge punctuation."""
    for marker in _TOKEN_MARKERS:
        text = text.replace(marker, "")
    return _EDGE_PUNCTUATION.sub("", text.strip().lower())


def generation_words(gen: GenerationLike) -> dict[int, str]:
    """word_index -> normalised word, from the generation's tokens."""
    pieces: dict[int, list[str]] = defaultdict(list)
    for token, word_idx in zip(gen.tokens, gen.word_index):
        if word_idx >= 0:
            pieces[word_idx].append(token)
    return {w: normalize_word("".join(p)) for w, p in sorted(pieces.items())}


def map_words(maps: Iterable[TokenMapLike]) -> dict[int, str]:
    """word_index -> normalised word, from the maps alone (when no generation was stored)."""
    pieces: dict[int, dict[int, str]] = defaultdict(dict)
    for m in maps:
        if m.word_index >= 0:
            pieces[m.word_index][m.token_index] = m.token_text
    return {
        w: normalize_word("".join(toks[i] for i in sorted(toks)))
        for w, toks in sorted(pieces.items())
    }


def occurrence_keys(words: dict[int, str]) -> dict[int, WordKey]:
    """word_index -> (word, k): the k-th occurrence of that word in the answer."""
    seen: Counter[str] = Counter()
    keys: dict[int, WordKey] = {}
    for w_idx in sorted(words):
        text = words[w_idx]
        if not text:
            continue
        keys[w_idx] = (text, seen[text])
        seen[text] += 1
    return keys


def pair_tokens(candidate: GenerationLike, baseline: GenerationLike) -> list[int]:
    """For each candidate token, the baseline token at the same position of the same word
    (same occurrence), or -1 where the baseline did not generate that word."""
    cand_keys = occurrence_keys(generation_words(candidate))
    base_keys = occurrence_keys(generation_words(baseline))
    base_tokens_of: dict[WordKey, list[int]] = defaultdict(list)
    for t, w in enumerate(baseline.word_index):
        if w in base_keys:
            base_tokens_of[base_keys[w]].append(t)
    position_in_word: Counter[int] = Counter()
    pairs: list[int] = []
    for w in candidate.word_index:
        key = cand_keys.get(w)
        if key is None or key not in base_tokens_of:
            pairs.append(-1)
            continue
        k = position_in_word[w]
        position_in_word[w] += 1
        targets = base_tokens_of[key]
        pairs.append(targets[min(k, len(targets) - 1)])
    return pairs
