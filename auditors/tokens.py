"""Token pieces and word grouping of an answer.

WHY incremental decoding: a single token decoded alone loses the space that tells where a word
starts (WordPiece/word-level decoders add spaces between tokens, BPE marks them inside the
token). Decoding prefixes and taking differences gives each token's exact share of the text.
"""

from __future__ import annotations

import string
from typing import Sequence

_PUNCT = set(string.punctuation)


def token_pieces(tokenizer, ids: Sequence[int]) -> list[str]:
    """Each token's share of the decoded text (special tokens keep their own text)."""
    pieces: list[str] = []
    previous = ""
    for k in range(len(ids)):
        text = tokenizer.decode([int(i) for i in ids[: k + 1]], skip_special_tokens=False)
        if text.startswith(previous):
            pieces.append(text[len(previous):])
        else:  # the decoder rewrote earlier text (rare); fall back to the token alone
            pieces.append(tokenizer.decode([int(ids[k])], skip_special_tokens=False))
        previous = text
    return pieces


def group_words(pieces: Sequence[str], special: Sequence[bool]) -> tuple[list[int], list[str]]:
    """``(word_index, words)``: a word starts at a piece beginning with whitespace, at a
    punctuation-only piece and after one; special tokens belong to no word (-1)."""
    word_index: list[int] = []
    words: list[str] = []
    previous_punct = False
    for piece, is_special in zip(pieces, special, strict=True):
        stripped = piece.strip()
        if is_special or not stripped:
            word_index.append(-1)
            continue
        is_punct = all(ch in _PUNCT for ch in stripped)
        starts_word = (not words or piece[:1].isspace() or is_punct or previous_punct
                       or not word_index or word_index[-1] == -1)
        if starts_word:
            words.append(stripped)
        else:
            words[-1] += stripped
        word_index.append(len(words) - 1)
        previous_punct = is_punct
    return word_index, words
