"""Where the attention went: the mean change of each word group's maps from baseline to candidate.

For every word both versions generated (paired as in `comparison.drift`) and that names an object
or has a class, each version's map is scaled to unit mass (a distribution over the image), the
baseline's is subtracted from the candidate's, and the differences are averaged per word group
on one grid in image coordinates: "object words" holds the words that name an object of the probe
(as in the fixed-locus check), each class every word of that class, a colour the image does not
hold included. A shortcut cue shows up as a spot
the candidate's maps gained, consistently, probe after probe; an honest retrain as noise. Each
cell's standard error over probes (probes resampled, `comparison.bootstrap`) tells the two apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from comparison.bootstrap import cluster_bootstrap_columns, stable_seed
from comparison.findings import AttentionShift, grid
from comparison.inputs import RunResults
from comparison.layout import ProbeSetLayout
from comparison.locus import ALL_OBJECT_WORDS
from comparison.maps import resize_grid
from comparison.settings import RegressionConfig
from comparison.wordmaps import WordMap, mass_share, run_word_maps


def attention_shifts(candidate: RunResults, baseline: RunResults, layout: ProbeSetLayout,
                     config: RegressionConfig,
                     word_maps: tuple[list[WordMap], list[WordMap]] | None = None) -> list[AttentionShift]:
    """Per method and group (every object word, each class): mean and SE of the map difference
    (`word_maps`: both runs' `run_word_maps`, when the caller has them already)."""
    cand_maps, base_maps = word_maps or (run_word_maps(candidate, layout), run_word_maps(baseline, layout))
    base = {(w.probe_key, w.method, w.key): w for w in base_maps}
    pairs = [(c, base[(c.probe_key, c.method, c.key)]) for c in cand_maps if (c.probe_key, c.method, c.key) in base]
    by_method: dict[str, list] = defaultdict(list)
    for cand, bas in pairs:
        by_method[cand.method].append((cand, bas))
    shifts = []
    for method, method_pairs in sorted(by_method.items()):
        shape = Counter(tuple(c.map.shape) for c, _ in method_pairs).most_common(1)[0][0]
        diffs: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
        for cand, bas in method_pairs:
            a = mass_share(resize_grid(cand.map, shape))
            b = mass_share(resize_grid(bas.map, shape))
            if a is None or b is None:
                continue
            for group in (ALL_OBJECT_WORDS if cand.on_object else None, cand.word_class):
                if group:
                    diffs[group][cand.probe_key].append(a - b)
        for group in sorted(diffs):
            probes = list(diffs[group].values())
            if len(probes) < 2:
                continue
            sums = np.array([np.sum(d, axis=0).ravel() for d in probes])
            counts = np.array([len(d) for d in probes], dtype=np.float64)
            ci = cluster_bootstrap_columns(sums, counts, z=1.0,
                                           rng=stable_seed(config.seed, method, group, "shift"))
            shifts.append(AttentionShift(method, group, ci.n_values, ci.n_probes, grid(ci.mean.reshape(shape)),
                                         grid(ci.se.reshape(shape))))
    return shifts
