"""Word classes for the TAM protocol without any download (no NLTK/spaCy models).

Why a fixed list: the TAM evaluation needs to know which answer words are *function words* (they
should light up nothing) and which are *nouns* naming a masked object. Nouns come from the probe's
object words; function words from this closed-class list (English determiners, pronouns,
conjunctions, prepositions, auxiliaries and particles), which is small, stable and auditable.
Changing it changes Func-IoU, so it is versioned with the metrics (`FUNCTION_WORDS_VERSION`).
"""

from __future__ import annotations

from comparison.words import normalize_word  # re-exported for the metrics (its one home)

FUNCTION_WORDS_VERSION = "1"

# Label values used by the TAM evaluation routine (fixtures.json `word_labels`); categories are > 0.
FUNCTION_WORD = -2
OTHER_WORD = -3
NOUN_WITHOUT_MASK = -1

FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    a an the this that these those some any each every either neither no all both half several
    such what which whose whichever whatever
    i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
    it its itself we us our ours ourselves they them their theirs themselves one ones someone
    something anyone anything everyone everything nobody nothing who whom
    and or but nor so yet for because although though while whereas if unless than whether as
    of in on at by with without from to into onto upon over under above below beneath beside besides
    between among amid around about across along against behind beyond near through throughout
    toward towards within via per off out up down inside outside next
    is am are was were be been being do does did done have has had having will would shall should
    can could may might must
    not there here then also just very too only
    """.split()
)
