"""The comparison science: how two audited model versions are compared, torch-free.

Why a room of its own: the paired deltas, probe-bootstrap intervals, word identity and pairing,
map similarity and verdict rules are used by `flows/` (which judges a candidate) and `reports/`
(which shows the judgement), and `auditors/` needs the same idea of "the same word" when it scores
maps. This package imports none of the project's other packages (numpy, scipy and the standard
library only), so every layer may import it and it never drags torch, a database or Prefect along.
Its functions read records structurally (any object with the named attributes), which is how
`storage.records` objects arrive here without this package importing `storage`.
"""
