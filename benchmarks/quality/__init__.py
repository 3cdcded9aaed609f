"""Method-quality benchmark: every explanation method x {clean, shortcut} demo model on the default probes.

What it measures, each with a 95% bootstrap CI that resamples probes (``comparison.bootstrap``):
* caption exact-match accuracy of each model version;
* localisation metrics of every method (TAM Obj-IoU / Func-IoU / F1-IoU, pointing game, energy in
  mask, Obj-IoU of colour and of shape words separately, how often colour/shape maps peak on the
  shortcut cue cell), and beside each its controls (``controls.py``): the wrong-word map, the
  untrained model and chance;
* the randomised-weights sanity check (Spearman between the trained and the untrained model's maps
  of the same tokens);
* deletion / insertion AUC on a subset of probes (``--faithfulness-probes``);
* ablations on the clean model (``ablations.py``): MSEA scale sets, ARC top-k, RBO p and weighting
  variant, and the rank filter's placement.

Modules: ``stats`` (per-probe statistics and their CIs), ``words`` (word kinds, caption matching),
``scoring`` (one probe through the explainers and metrics), ``controls``, ``ablations``, ``goals``
(the goals judged on the results), ``markdown`` (the printed tables), ``__main__`` (the command).

Writes ``benchmarks/results/quality.json`` and prints markdown tables. From the repository root:
    python -m benchmarks.quality                                            # the README's run
    python -m benchmarks.quality --probes 10 --bootstrap 200 --ablation-probes 5 --out /tmp/q.json
"""
