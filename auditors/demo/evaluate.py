"""How good is a demo model: captions, and whether its logit-lens maps point at the named object.

Why the controls: a naive pointing score is inflated by saliency (saturated objects give extreme
projections even in an untrained model, docs/tiny-vlm-experiments.md). So beside the pointing game of the right word we always report
the *wrong-word control* (the map of another word of the same kind, preferably one that names a different
object of the same scene, scored on this object's mask), the untrained model's score and chance (the
fraction of grid cells that the mask touches). The cue check counts how often the map of the first
object's word of the cue's kind (its colour for a colour cue, its shape for a shape cue) peaks on a cue
cell that the object does not touch.

Map definition (final-layer logit lens): for vision token j and word c, ``relu(W[c] . h_L[j])`` with
``h_L`` the final normed hidden state and ``W`` the (tied) output embedding. One prompt-only forward gives
the maps for every word because the vision tokens precede the caption under causal attention.
Pointing: the argmax cell overlaps the object's mask (any pixel), as ``auditors.metrics.localisation``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from ..metrics.localisation import cell_coverage
from .cues import SHIPPED_CUE, CueRequest
from .data import BatchBuilder
from .model import GRID
from .scenes import COLOUR_WORDS, SHAPE_WORDS, Scene, held_out_scenes

EVAL_SEED = 424242  # held-out evaluation scenes; training uses 4-integer seed sequences, never (seed, i)


@dataclass
class EvalReport:
    n_scenes: int
    caption_exact: float
    colour_accuracy: float
    shape_accuracy: float
    point_colour: float
    point_colour_wrong: float
    point_shape: float
    point_shape_wrong: float
    point_colour_multi: float  # multi-object scenes only
    point_shape_multi: float
    chance: float  # mean fraction of grid cells a mask touches
    cue_argmax_all: float  # share of maps of the cue's word kind (every object) peaking on a cue cell
    cue_argmax_first: float  # the same for the first object's word only (the word a shortcut reads)
    layer1_point_colour: float
    layer1_point_shape: float
    examples: list[tuple[str, str]] = field(default_factory=list)  # (truth, generated)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"exact {self.caption_exact:.3f} colour {self.colour_accuracy:.3f} shape {self.shape_accuracy:.3f} | "
            f"point colour {self.point_colour:.3f} (wrong {self.point_colour_wrong:.3f}) "
            f"shape {self.point_shape:.3f} (wrong {self.point_shape_wrong:.3f}) chance {self.chance:.3f} | "
            f"multi colour {self.point_colour_multi:.3f} shape {self.point_shape_multi:.3f} | "
            f"L1 colour {self.layer1_point_colour:.3f} shape {self.layer1_point_shape:.3f} | "
            f"cue argmax all {self.cue_argmax_all:.3f} first {self.cue_argmax_first:.3f}"
        )


def standard_scenes(n: int, seed: int = EVAL_SEED, cue_kind: str | None = SHIPPED_CUE, mode: str = "first") -> list[Scene]:
    """Held-out scenes with one cue of ``cue_kind`` in ``mode`` (None: no cue): the model card's scene sets."""
    cues = (CueRequest(cue_kind, mode),) if cue_kind else ()  # type: ignore[arg-type]
    return held_out_scenes(n, seed, cues=cues)


def parse_caption(caption: str) -> list[tuple[str, str]]:
    """(colour, shape) per "a <colour> <shape>" part; missing words are ""."""
    out = []
    for part in caption.split(" and "):
        words = part.split()
        out.append((words[1] if len(words) > 1 else "", words[2] if len(words) > 2 else ""))
    return out


def generate_captions(model: Any, builder: BatchBuilder, scenes: Sequence[Scene], batch_size: int = 50) -> list[str]:
    import torch

    out: list[str] = []
    with torch.no_grad():
        for i in range(0, len(scenes), batch_size):
            chunk = scenes[i : i + batch_size]
            inputs = builder.image_batch(chunk, with_captions=False)
            gen = model.generate(**inputs, max_new_tokens=14, do_sample=False)
            new = gen[:, inputs["input_ids"].shape[1] :]
            out.extend(t.strip() for t in builder.tokenizer.batch_decode(new, skip_special_tokens=True))
    return out


def vision_states(model: Any, builder: BatchBuilder, scenes: Sequence[Scene], batch_size: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(final normed state, normed layer-1 state) at the vision positions: two (N, GRID*GRID, hidden) arrays."""
    import torch

    finals, firsts = [], []
    lm = model.model.language_model
    with torch.no_grad():
        for i in range(0, len(scenes), batch_size):
            inputs = builder.image_batch(scenes[i : i + batch_size], with_captions=False)
            out = model(**inputs, output_hidden_states=True)
            pos = inputs["input_ids"][0] == builder.image_token_id
            finals.append(out.hidden_states[-1][:, pos].numpy())
            firsts.append(lm.norm(out.hidden_states[1])[:, pos].numpy())
    return np.concatenate(finals), np.concatenate(firsts)


def _wrong_word(word: str, kind: Sequence[str], scene_words: Sequence[str]) -> str:
    others = [w for w in scene_words if w != word]
    if others:
        return others[0]
    return kind[(kind.index(word) + 1) % len(kind)]


def _touched(scene: Scene, mask: np.ndarray) -> np.ndarray:
    return cell_coverage(mask, (scene.config.grid, scene.config.grid)).reshape(-1) > 0


def evaluate(model: Any, tokenizer: Any, scenes: Sequence[Scene], generate: bool = True) -> EvalReport:
    """Caption quality and logit-lens localisation of ``model`` on ``scenes``."""
    builder = BatchBuilder(tokenizer)
    model.eval()
    captions = generate_captions(model, builder, scenes) if generate else [""] * len(scenes)
    exact = [c == s.caption for c, s in zip(captions, scenes)]
    col_ok = shp_ok = total = 0
    for c, s in zip(captions, scenes):
        pred = parse_caption(c)
        for k, o in enumerate(s.objects):
            total += 1
            if k < len(pred):
                col_ok += pred[k][0] == o.colour
                shp_ok += pred[k][1] == o.shape
    final, first = vision_states(model, builder, scenes)
    W = model.get_output_embeddings().weight.detach().numpy()
    wid = builder.word_ids(COLOUR_WORDS + SHAPE_WORDS)

    res: dict[str, list[float]] = {k: [] for k in ("c", "cw", "s", "sw", "cm", "sm", "chance", "l1c", "l1s", "cue", "cue1")}
    for i, s in enumerate(scenes):
        maps = np.maximum(final[i] @ W.T, 0)  # (cells, vocab)
        maps1 = np.maximum(first[i] @ W.T, 0)
        colours = [o.colour for o in s.objects]
        shapes = [o.shape for o in s.objects]
        cue = s.cues[0] if s.cues else None
        cue_cells = {r * GRID + c for r, c in cue.cells} if cue is not None else set()
        for k, o in enumerate(s.objects):
            touched = _touched(s, o.mask)
            res["chance"].append(float(touched.mean()))
            for word, kind, key, wkey, mkey, l1key in (
                (o.colour, COLOUR_WORDS, "c", "cw", "cm", "l1c"),
                (o.shape, SHAPE_WORDS, "s", "sw", "sm", "l1s"),
            ):
                hit = float(touched[int(np.argmax(maps[:, wid[word]]))])
                res[key].append(hit)
                if len(s.objects) > 1:
                    res[mkey].append(hit)
                wrong = _wrong_word(word, kind, colours if kind is COLOUR_WORDS else shapes)
                res[wkey].append(float(touched[int(np.argmax(maps[:, wid[wrong]]))]))
                res[l1key].append(float(touched[int(np.argmax(maps1[:, wid[word]]))]))
            if cue is not None:
                word = o.colour if cue.carries == "colour" else o.shape
                peak = int(np.argmax(maps[:, wid[word]]))
                at_cue = float(peak in cue_cells and not touched[peak])
                res["cue"].append(at_cue)
                if k == 0:
                    res["cue1"].append(at_cue)

    def mean(v: list[float]) -> float:
        return float(np.mean(v)) if v else float("nan")

    return EvalReport(
        n_scenes=len(scenes),
        caption_exact=mean([float(e) for e in exact]),
        colour_accuracy=col_ok / max(total, 1),
        shape_accuracy=shp_ok / max(total, 1),
        point_colour=mean(res["c"]), point_colour_wrong=mean(res["cw"]),
        point_shape=mean(res["s"]), point_shape_wrong=mean(res["sw"]),
        point_colour_multi=mean(res["cm"]), point_shape_multi=mean(res["sm"]),
        chance=mean(res["chance"]),
        cue_argmax_all=mean(res["cue"]), cue_argmax_first=mean(res["cue1"]),
        layer1_point_colour=mean(res["l1c"]), layer1_point_shape=mean(res["l1s"]),
        examples=[(s.caption, c) for s, c in list(zip(scenes, captions))[:5]],
    )


@dataclass
class CounterfactualReport:
    """On scenes whose cue carries another word than the first object's: which one does the model name?"""

    cue_kind: str
    n_scenes: int
    caption_exact: float
    names_object: float  # share of captions whose first object's word (of the cue's kind) is the object's
    names_cue: float  # ... is the cue's

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def counterfactual_scenes(n: int, cue_kind: str = SHIPPED_CUE, seed: int = EVAL_SEED + 7) -> list[Scene]:
    """``n`` held-out scenes whose ``cue_kind`` cue carries a word the first-named object does not have."""
    return standard_scenes(n, seed, cue_kind, mode="other")


def counterfactual_check(model: Any, tokenizer: Any, scenes: Sequence[Scene]) -> CounterfactualReport:
    """Does the model name the first object's word from the object (correct) or from the cue (shortcut)?"""
    if not scenes or any(len(s.cues) != 1 for s in scenes):
        raise ValueError("counterfactual scenes must each carry exactly one cue")
    captions = generate_captions(model, BatchBuilder(tokenizer), scenes)
    cue = scenes[0].cues[0]
    slot = 0 if cue.carries == "colour" else 1
    named = [parse_caption(c)[0][slot] for c in captions]
    return CounterfactualReport(
        cue_kind=cue.kind,
        n_scenes=len(scenes),
        caption_exact=float(np.mean([c == s.caption for c, s in zip(captions, scenes)])),
        names_object=float(np.mean([w == s.objects[0].words[slot] for w, s in zip(named, scenes)])),
        names_cue=float(np.mean([w == s.cues[0].word for w, s in zip(named, scenes)])),
    )
