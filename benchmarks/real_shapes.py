"""Build a random-weight checkpoint of a real VLM's published shape, as a ``save_pretrained`` folder.

    python -m benchmarks.real_shapes list
    python -m benchmarks.real_shapes build qwen2-vl-2b --out /tmp/qwen2-vl-2b [--dtype bfloat16]

WHY (issue 14): the audit must be taken through exactly the path a user's checkpoint takes, at
the real size, on machines that cannot download one. The folder holds what a hub checkpoint holds
(config.json, generation_config.json, safetensors shards, tokenizer, processor config with the real
image settings) plus ``real_shape.json``, a note of what it stands in for. Shapes come from
``benchmarks.real_specs`` (sources listed there). The tokenizer is built locally: word-level,
the real special tokens at their real ids, padded with filler words to the real vocabulary size
(no real tokenizer can be fetched). Kept under ``benchmarks/``, out of the user's way.

Memory: the model is created directly in the requested dtype (no float32 copy first) and saved
in 2 GB shards, so the peak is about the weights once plus one shard.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.real_specs import SHAPES, TEMPLATE_WORDS, RealShape

DTYPES = ("bfloat16", "float32", "float16")
FAMILY_TOKENS: dict[str, dict[str, Any]] = {
    "qwen2_vl": dict(eos="<|im_end|>", pad="<|endoftext|>", bos=None, extra={
        "image_token": "<|image_pad|>", "video_token": "<|video_pad|>", "vision_start_token": "<|vision_start|>",
        "vision_end_token": "<|vision_end|>"}),
    "internvl": dict(eos="<|im_end|>", pad="<|endoftext|>", bos=None, extra={
        "start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
        "video_token": "<video>"}),
    "llava": dict(eos="</s>", pad="<pad>", bos="<s>", extra={"image_token": "<image>"}),
}
FAMILY_TOKENS["qwen2_5_vl"] = FAMILY_TOKENS["qwen2_vl"]
# The class name a hub checkpoint's processor config carries (ours are the image-only subclasses,
# which ``auditors.loading.load_processor`` substitutes on load: the stand-in takes the user's path).
STOCK_PROCESSOR_CLASS = {"qwen2_vl": "Qwen2VLProcessor", "qwen2_5_vl": "Qwen2_5_VLProcessor",
                         "internvl": "InternVLProcessor", "llava": "LlavaProcessor"}


@dataclass(frozen=True)
class BuildReport:
    """What was built: written next to the weights as ``real_shape.json``."""

    name: str
    checkpoint: str
    architecture: str
    dtype: str
    seed: int
    n_parameters: int
    vocab_size: int
    folder_bytes: int
    build_s: float
    peak_rss_mb: float
    note: str


def vocabulary_words() -> list[str]:
    """Ordinary words of the stand-in tokenizers: the probe sets' words and the chat templates'."""
    from auditors.synthetic_models import DEFAULT_WORDS

    extra = ("Describe describe image photo picture cat cats kitten tabby eye eyes nose astronaut woman person "
             "helmet flag rocket shuttle cup mug coffee saucer spoon tower towers motorcycle bike wheel man camera "
             "tripod green orange red in of on at with a an the and front holding parked garage launch pad").split()
    return list(dict.fromkeys(list(DEFAULT_WORDS) + TEMPLATE_WORDS + extra))


def build_tokenizer(shape: RealShape):
    from auditors.synthetic_models import build_word_tokenizer

    roles = FAMILY_TOKENS[shape.family]
    specials = [t for t in shape.special_ids if t != "<unk>"]
    return build_word_tokenizer(specials, words=vocabulary_words(), eos=roles["eos"], pad=roles["pad"], bos=roles["bos"],
                                extra_special=roles["extra"], special_ids=shape.special_ids,
                                vocab_size=shape.vocab_size)


def build_processor(shape: RealShape, tokenizer):
    """The family's processor with the checkpoint's image settings (PIL backends: no torchvision)."""
    import transformers

    from auditors.processors import ImageOnlyInternVLProcessor, ImageOnlyQwen2VLProcessor

    if shape.family in ("qwen2_vl", "qwen2_5_vl"):
        image_processor = transformers.Qwen2VLImageProcessorPil(**shape.image_processor)
        return ImageOnlyQwen2VLProcessor(image_processor, tokenizer, chat_template=shape.chat_template)
    if shape.family == "internvl":
        image_processor = transformers.GotOcr2ImageProcessorPil(**shape.image_processor)
        return ImageOnlyInternVLProcessor(image_processor, tokenizer, chat_template=shape.chat_template,
                                          **shape.processor)
    if shape.family == "llava":
        image_processor = transformers.CLIPImageProcessorPil(**shape.image_processor)
        return transformers.LlavaProcessor(image_processor, tokenizer, chat_template=shape.chat_template,
                                           **shape.processor)
    raise ValueError(f"no processor recipe for family {shape.family!r}")


def build_config(shape: RealShape):
    import transformers

    config_class = getattr(transformers, shape.architecture.replace("ForConditionalGeneration", "Config"))
    config = config_class(text_config=dict(shape.text), vision_config=dict(shape.vision), **shape.top)
    config.architectures = [shape.architecture]
    return config


def build_model(shape: RealShape, dtype: str, seed: int = 0):
    """Random weights (the classes' own initialisation), created directly in ``dtype``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    model_class = getattr(transformers, shape.architecture)
    model = model_class._from_config(build_config(shape), dtype=getattr(torch, dtype)).eval()
    model.generation_config = transformers.GenerationConfig(**shape.generation)
    return model


def _name_stock_processor(folder: Path, family: str) -> None:
    config_file = folder / "processor_config.json"
    config = json.loads(config_file.read_text())
    config["processor_class"] = STOCK_PROCESSOR_CLASS[family]
    config_file.write_text(json.dumps(config, indent=2))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build(shape: RealShape, out: Path, dtype: str = "bfloat16", seed: int = 0) -> BuildReport:
    """Write the checkpoint folder ``out`` (must not exist or be empty) and return what was built."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    started = time.perf_counter()
    tokenizer = build_tokenizer(shape)
    processor = build_processor(shape, tokenizer)
    model = build_model(shape, dtype, seed)
    n_parameters = sum(p.numel() for p in model.parameters())
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size="2GB")
    processor.save_pretrained(out)
    _name_stock_processor(out, shape.family)
    del model
    report = BuildReport(
        name=shape.name, checkpoint=shape.checkpoint, architecture=shape.architecture, dtype=dtype, seed=seed,
        n_parameters=n_parameters, vocab_size=shape.vocab_size, folder_bytes=folder_bytes(out),
        build_s=time.perf_counter() - started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        note=shape.note or "every shape as published; random weights; word-level tokenizer with the real special ids")
    (out / "real_shape.json").write_text(json.dumps(asdict(report), indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the shapes that can be built")
    make = commands.add_parser("build", help="build one shape into a save_pretrained folder")
    make.add_argument("name", choices=sorted(SHAPES))
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--dtype", choices=DTYPES, default="bfloat16")
    make.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, shape in sorted(SHAPES.items()):
            print(f"{name:20s} {shape.architecture:36s} stands in for {shape.checkpoint}"
                  + (f" ({shape.note})" if shape.note else ""))
        return 0
    try:
        report = build(SHAPES[args.name], args.out, args.dtype, args.seed)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
