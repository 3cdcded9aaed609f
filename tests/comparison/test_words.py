"""One meaning of "the same word": normalisation, occurrences and token pairing."""

from __future__ import annotations

from dataclasses import dataclass

from comparison.words import generation_words, normalize_word, occurrence_keys, pair_tokens


@dataclass
class Gen:
    tokens: tuple[str, ...]
    word_index: tuple[int, ...]


def test_normalize_word_strips_markers_case_and_edge_punctuation():
    assert normalize_word("\u0120Circle.") == "circle"
    assert normalize_word("\u2581RED") == "red"
    assert normalize_word("##square,") == "square"
    assert normalize_word("  t-shirt!  ") == "t-shirt"  # inner punctuation stays
    assert normalize_word("...") == ""


def test_occurrences_and_pairing_follow_the_kth_occurrence():
    cand = Gen(("a", " red", " ball", " and", " a", " red", " cube", "<eos>"), (0, 1, 2, 3, 4, 5, 6, -1))
    base = Gen(("one", " red", " cube", " a", " red", " ball"), (0, 1, 2, 3, 4, 5))
    words = generation_words(cand)
    assert words[1] == "red" and words[6] == "cube"
    keys = occurrence_keys(words)
    assert keys[1] == ("red", 0) and keys[5] == ("red", 1) and keys[4] == ("a", 1)
    pairs = pair_tokens(cand, base)
    # candidate "a" (first) pairs with baseline "a" (its first "a" is word 3); "and" has no partner
    assert pairs == [3, 1, 5, -1, -1, 4, 2, -1]
