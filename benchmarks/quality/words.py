"""Which kind of word a scored word is, and whether two captions say the same thing."""

from __future__ import annotations


def word_kind(label: str | None, colours: frozenset[str], shapes: frozenset[str]) -> str | None:
    """``colour``, ``shape`` or None for a metric's word label (``"red"``, ``"circle#2"``).

    Merged entries (``"red circle"``) mix both kinds and get None."""
    if not label or " " in label:
        return None
    first = label.split("#")[0]
    return "colour" if first in colours else "shape" if first in shapes else None


def normalise_caption(text: str | None) -> str:
    """A caption as its normalised words (the project's one word normalisation), for exact match."""
    from comparison.words import normalize_word

    if not text:
        return ""
    return " ".join(w for w in (normalize_word(t) for t in text.replace("<|im_end|>", " ").split()) if w)
