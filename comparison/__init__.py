"""The comparison science: how two audited model versions are compared, torch-free.

Why a room of its own: the paired deltas, probe-bootstrap intervals, word identity and pairing,
map similarity and verdict rules are used by `flows/` (which judges a candidate) and `reports/`
(which shows the judgement), and `auditors/` needs the same idea of "the same word" when it scores
maps. This package imports none of the project's other packages (numpy, Pillow and the
standard library only), so every layer may import it and it never drags torch, a database or Prefect along.
Its functions read records structurally (any object with the named attributes), which is how
`storage.records` objects arrive here without this package importing `storage`.

Modules, one job each:
- `settings`: `RegressionConfig` (drift, word groups, fixed locus), the comparison's configuration;
- `inputs`: `RunResults` and the structural record types a comparison reads; `layout`: what the
  probe set says (objects' footprints, word classes, reference answers, cues);
- `words`: what "the same word" means; `groups`: word classes, slots and words as groups;
  `wordmaps`: a run's word maps with their class and slot; `maps`: how alike two maps are;
- `bootstrap`: probe CIs (and family-corrected ones); `proportions`: Wilson intervals of rates;
- `paired`: paired metric deltas; `grouped`: the same per word group; `drift`: map drift between
  versions (and the most changed token); `locus`: fixed-locus attention of one run;
- `shift`, `counterfactual`: the findings the report shows (`findings` holds their types);
- `rules`: when a check passes, warns or fails; `describe`: the sentences and the headline;
- `result`: `ComparisonResult`, which saves (`to_dict`), loads (`from_dict`) and diffs;
- `compare`: `compare_runs`, which puts them together; `errors`: `ComparisonError`, the one error raised.
"""

from comparison.compare import compare_runs
from comparison.errors import ComparisonError
from comparison.inputs import RunResults
from comparison.result import (
    FORMAT_VERSION,
    TYPE_ID,
    CheckChange,
    ComparisonResult,
    MetricComparison,
    ProbeComparison,
    ProbeDelta,
    ProbeDrift,
    ProbeFlag,
    ResultDiff,
)
from comparison.rules import DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP, is_drift_metric, worst_verdict
from comparison.settings import DriftConfig, RegressionConfig

__all__ = [
    "DRIFT_SPEARMAN",
    "DRIFT_TOP_OVERLAP",
    "FORMAT_VERSION",
    "TYPE_ID",
    "CheckChange",
    "ComparisonError",
    "ComparisonResult",
    "DriftConfig",
    "MetricComparison",
    "ProbeComparison",
    "ProbeDelta",
    "ProbeDrift",
    "ProbeFlag",
    "RegressionConfig",
    "ResultDiff",
    "RunResults",
    "compare_runs",
    "is_drift_metric",
    "worst_verdict",
]
