"""Words of a generated answer, as both the report and the regression check pair them.

Why shared: the report shows the baseline's map for "the same word" beside the candidate's, and the
regression statistics compare "the same word" of the two versions. Both must agree on what that
means: the k-th occurrence of the normalised word (tokenizer space markers and case removed).
`reports/` owns it because reports may not import `flows/`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

from storage.records import GenerationRecord, TokenMapRecord

_TOKEN_MARKERS = ("\u0120", "\u2581", "##")  # byte-level BPE space, sentencepiece space, wordpiece

WordKey = tuple[str, int]  # (normalised word, occurrence number within the answer)


def normalize_word(text: str) -> str:
    """Compare words, not tokenizer artefacts: strip space markers and case."""
    for marker in _TOKEN_MARKERS:
        text = text.replace(marker, "")
    return text.strip().lower()


def generation_words(gen: GenerationRecord) -> dict[int, str]:
    """word_index -> normalised word, from the generation's tokens."""
    pieces: dict[int, list[str]] = defaultdict(list)
    for token, word_idx in zip(gen.tokens, gen.word_index):
        if word_idx >= 0:
            pieces[word_idx].append(token)
    return {w: normalize_word("".join(p)) for w, p in sorted(pieces.items())}


def map_words(maps: Iterable[TokenMapRecord]) -> dict[int, str]:
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


def pair_tokens(candidate: GenerationRecord, baseline: GenerationRecord) -> list[int]:
    """For each candidate token, the baseline token at the same position of the same word
    (same occurrence), or -1 where the baseline did not generate that word."""
    cand_keys = occurrence_keys(generation_words(candidate))
    base_keys = occurrence_keys(generation_words(baseline))
    base_tokens_of: dict[WordKey, list[int]] = defaultdict(list)
    for t, w in enumerate(baseline.word_index):
        if w in base_keys:
            base_tokens_of[base_keys[w]].append(t)
    position_in_word: dict[int, int] = Counter()
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
