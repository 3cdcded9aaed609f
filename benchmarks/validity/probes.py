"""The probe sets the validity benchmark audits on: held-out demo scenes, two conditions.

* "present": every probe carries every cue kind, each carrying the first-named object's word of
  its kind. A shortcut model finds its cue and answers right; only its explanations can give it
  away. This is the hard case, and the one a team meets when its evaluation data shares the
  training data's spurious correlation.
* "mixed": the demo's counterfactual probe set (`auditors.demo.probeset`, mode "mixed"): cue
  kinds and modes (present, absent, conflicting) in turn, so a shortcut also answers wrong where its
  cue is missing or lies, and the report's counterfactual table has something to show.

Scenes are drawn from `PROBE_SEED`, a stream no training, evaluation or default probe set uses.
"""

from __future__ import annotations

from pathlib import Path

PROBE_SEED = 990001
CONDITIONS = ("present", "mixed")


def _demo_api():
    try:
        from auditors.demo import probeset, scenes, tokenizer
        from auditors.demo.cues import COLOUR_WORDS, CUE_KINDS, SHAPE_WORDS, CueRequest
    except ImportError as exc:
        raise SystemExit(f"the validity benchmark needs the demo cue family (auditors.demo.cues): {exc}") from exc
    return probeset, scenes, tokenizer, CUE_KINDS, CueRequest, COLOUR_WORDS, SHAPE_WORDS


def _build_present(dest: Path, n: int) -> None:
    from auditors.probes import ObjectDraft, ProbeDraft, write_probe_set

    probeset, scenes, tokenizer, cue_kinds, cue_request, colours, shapes = _demo_api()
    drafts = []
    for i in range(n):
        scene = scenes.make_scene(scenes.rng_for(PROBE_SEED, i), scenes.SceneConfig(),
                                  cues=[cue_request(kind, "first") for kind in cue_kinds])
        drafts.append(ProbeDraft(id=f"scene{i:04d}", image=scene.image, prompt=tokenizer.DEFAULT_PROMPT,
                                 objects=[ObjectDraft(words=list(o.words), mask=o.mask) for o in scene.objects],
                                 caption=scene.caption, metadata={"cues": sorted(cue_kinds)}))
    write_probe_set(dest, drafts, name="validity-present", version="1", default_prompt=tokenizer.DEFAULT_PROMPT,
                    description=f"{n} demo scenes (seed {PROBE_SEED}), every cue kind present carrying the first "
                                "object's word", word_classes={"colour": list(colours), "shape": list(shapes)},
                    ordered_objects=True, overwrite=True)


def _build_mixed(dest: Path, n: int) -> None:
    probeset, _, _, cue_kinds, _, _, _ = _demo_api()
    probeset.build_default_probe_set(dest, n=n, seed=PROBE_SEED, overwrite=True, cue_kinds=tuple(cue_kinds),
                                     mode="mixed")


def probe_set_dir(work: Path, condition: str, n: int) -> Path:
    """The condition's probe-set folder under `work`, built once (deterministic, by seed)."""
    if condition not in CONDITIONS:
        raise SystemExit(f"unknown probe condition {condition!r}; choose from {', '.join(CONDITIONS)}")
    dest = work / f"probes-{condition}-{n}"
    if not (dest / "probes.jsonl").is_file():
        (_build_present if condition == "present" else _build_mixed)(dest, n)
    return dest
