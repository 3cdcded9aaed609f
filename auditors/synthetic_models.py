"""Random-weight vision-language models built entirely locally (no downloads).

WHY: real checkpoints cannot be fetched on the project's machines, yet every adapter must be
exercised end to end with the real transformers classes. These builders make a word-level
tokenizer (``tokenizers`` WordLevel + whitespace pre-tokenizer), a small config of the requested
family and a randomly initialised model, plus the matching processor. The tests use them with tiny
sizes; ``benchmarks/explain_speed.py`` uses them with a realistic vocabulary and width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

DEFAULT_WORDS = (
    "a an the this that it is are of on in at to and or with near above below left right "
    "red blue green yellow white black circle square triangle star cat dog image picture "
    "describe what where object shape colour color there one two small big . , ? : user assistant"
).split()

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]
LLAVA_SPECIALS = ["<s>", "</s>", "<pad>", "<image>"]
INTERNVL_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "llava", "internvl")


@dataclass
class SyntheticModelSpec:
    """Sizes of a synthetic model. The defaults make a model of ~0.2 M parameters."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_hidden: int = 32
    vision_depth: int = 2
    vision_heads: int = 2
    extra_vocab: int = 0  # adds words "w0", "w1", ... to reach a realistic vocabulary size
    image_px: int = 112  # Qwen: max side of the processor's pixel budget; fixed-canvas families: canvas side
    attn_implementation: str = "sdpa"
    tie_word_embeddings: bool | None = None  # None: the family's default; True halves a big vocabulary's memory


def build_word_tokenizer(specials: Sequence[str], words: Sequence[str] = DEFAULT_WORDS, extra_vocab: int = 0,
                         eos: str = "<|im_end|>", pad: str = "<|endoftext|>", extra_special: dict | None = None,
                         bos: str | None = None, special_ids: Mapping[str, int] | None = None,
                         vocab_size: int | None = None):
    """A word-level fast tokenizer; unknown words map to ``<unk>``.

    By default the words come first and the ``specials`` are appended after them. With
    ``special_ids`` (token -> id) and ``vocab_size`` the special tokens sit at those exact ids and
    filler words ``w0``, ``w1``, ... take every other id below ``vocab_size``: the id layout of a
    real checkpoint's tokenizer (WHY: real-shape checkpoints must agree with their published
    config on every special id and on the vocabulary size, yet no real tokenizer can be fetched).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    ordinary = ["<unk>"] + [w for w in dict.fromkeys(words) if w not in set(specials) and w != "<unk>"]
    if special_ids is None:
        vocab = {w: i for i, w in enumerate(ordinary + [f"w{i}" for i in range(extra_vocab)])}
    else:
        vocab = _fixed_id_vocab(ordinary, special_ids, vocab_size)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(list(specials))
    kwargs: dict[str, Any] = dict(tokenizer_object=tok, unk_token="<unk>", eos_token=eos, pad_token=pad)
    if bos:
        kwargs["bos_token"] = bos
    if extra_special:
        kwargs["extra_special_tokens"] = dict(extra_special)
    return PreTrainedTokenizerFast(**kwargs)


def _fixed_id_vocab(ordinary: Sequence[str], special_ids: Mapping[str, int], vocab_size: int | None) -> dict[str, int]:
    """``ordinary`` words at the lowest free ids, specials at theirs, fillers up to ``vocab_size``."""
    if vocab_size is None:
        raise ValueError("special_ids needs vocab_size (the id space to fill)")
    taken = {int(i) for i in special_ids.values()}
    if len(taken) != len(special_ids) or max(taken) >= vocab_size:
        raise ValueError(f"special ids must be distinct and below vocab_size {vocab_size}: {dict(special_ids)}")
    free = (i for i in range(vocab_size) if i not in taken)
    vocab = dict(special_ids)
    names = iter(list(ordinary) + [f"w{i}" for i in range(vocab_size)])
    for index in free:
        name = next(names)
        while name in vocab:
            name = next(names)
        vocab[name] = index
    if len(ordinary) > vocab_size - len(taken):
        raise ValueError(f"{len(ordinary)} words do not fit a vocabulary of {vocab_size}")
    return vocab


def build_synthetic_vlm(family: str, spec: SyntheticModelSpec | None = None, seed: int = 0):
    """Return ``(model, processor)`` of the given family with random weights (eval mode)."""
    import torch

    spec = spec or SyntheticModelSpec()
    torch.manual_seed(seed)
    if family in ("qwen2_vl", "qwen2_5_vl"):
        return _build_qwen(family, spec)
    if family == "llava":
        return _build_llava(spec)
    if family == "internvl":
        return _build_internvl(spec)
    raise ValueError(f"unknown synthetic family {family!r}; choose one of {FAMILIES}")


def _text_config(spec: SyntheticModelSpec, vocab: int, ids: dict[str, int], bos: str, eos: str, pad: str,
                 mrope: bool) -> dict:
    head_dim = spec.hidden_size // spec.num_heads
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": 10000.0}
    if mrope:
        half = head_dim // 2
        a = half // 4
        b = (half - a) // 2
        rope["mrope_section"] = [a, b, half - a - b]
    return dict(vocab_size=vocab, hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
                num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
                num_key_value_heads=spec.num_kv_heads, max_position_embeddings=4096, rope_parameters=rope,
                bos_token_id=ids[bos], eos_token_id=ids[eos], pad_token_id=ids[pad])


def _build_qwen(family: str, spec: SyntheticModelSpec):
    from transformers import Qwen2VLImageProcessorPil

    from auditors.processors import ImageOnlyQwen2VLProcessor

    tokenizer = build_word_tokenizer(
        QWEN_SPECIALS, extra_vocab=spec.extra_vocab,
        extra_special={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                       "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"})
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    px = spec.image_px
    image_processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=px * px, patch_size=14,
                                               temporal_patch_size=2, merge_size=2)
    processor = ImageOnlyQwen2VLProcessor(image_processor, tokenizer)
    text = _text_config(spec, len(tokenizer), ids, "<|endoftext|>", "<|im_end|>", "<|endoftext|>", mrope=True)
    common = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    if family == "qwen2_vl":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        cfg = Qwen2VLConfig(text_config=text, vision_config=dict(
            depth=spec.vision_depth, embed_dim=spec.vision_hidden, hidden_size=spec.hidden_size,
            num_heads=spec.vision_heads, mlp_ratio=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
            **common)
        cls = Qwen2VLForConditionalGeneration
    else:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        cfg = Qwen2_5_VLConfig(text_config=text, vision_config=dict(
            depth=spec.vision_depth, hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 2,
            out_hidden_size=spec.hidden_size, num_heads=spec.vision_heads, patch_size=14, spatial_merge_size=2,
            temporal_patch_size=2, window_size=56, fullatt_block_indexes=[spec.vision_depth - 1]), **common)
        cls = Qwen2_5_VLForConditionalGeneration
    cfg._attn_implementation = spec.attn_implementation
    if spec.tie_word_embeddings is not None:
        cfg.tie_word_embeddings = spec.tie_word_embeddings
        cfg.get_text_config().tie_word_embeddings = spec.tie_word_embeddings
    model = cls(cfg).eval()
    return model, processor


def _build_llava(spec: SyntheticModelSpec):
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    tokenizer = build_word_tokenizer(LLAVA_SPECIALS, extra_vocab=spec.extra_vocab, eos="</s>", pad="<pad>",
                                     bos="<s>", extra_special={"image_token": "<image>"})
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in LLAVA_SPECIALS}
    px, patch = spec.image_px, 16
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": px}, crop_size={"height": px, "width": px})
    processor = LlavaProcessor(image_processor, tokenizer, patch_size=patch, vision_feature_select_strategy="default",
                               image_token="<image>", num_additional_image_tokens=1)
    text = _text_config(spec, len(tokenizer), ids, "<s>", "</s>", "<pad>", mrope=False)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(
        hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 2, num_hidden_layers=spec.vision_depth,
        num_attention_heads=spec.vision_heads, image_size=px, patch_size=patch),
        text_config=LlamaConfig(**text), image_token_index=ids["<image>"], image_seq_length=(px // patch) ** 2)
    cfg._attn_implementation = spec.attn_implementation
    if spec.tie_word_embeddings is not None:
        cfg.tie_word_embeddings = spec.tie_word_embeddings
        cfg.get_text_config().tie_word_embeddings = spec.tie_word_embeddings
    model = LlavaForConditionalGeneration(cfg).eval()
    return model, processor


def _build_internvl(spec: SyntheticModelSpec):
    from transformers import GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration, Qwen2Config

    from auditors.processors import ImageOnlyInternVLProcessor

    tokenizer = build_word_tokenizer(
        INTERNVL_SPECIALS, extra_vocab=spec.extra_vocab,
        extra_special={"start_image_token": "<img>", "end_image_token": "</img>",
                       "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"})
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in INTERNVL_SPECIALS}
    px, patch = spec.image_px, 14
    seq_len = ((px // patch) // 2) ** 2
    image_processor = GotOcr2ImageProcessorPil(size={"height": px, "width": px}, crop_to_patches=False)
    processor = ImageOnlyInternVLProcessor(image_processor, tokenizer, image_seq_length=seq_len)
    text = _text_config(spec, len(tokenizer), ids, "<|endoftext|>", "<|im_end|>", "<|endoftext|>", mrope=False)
    cfg = InternVLConfig(vision_config=dict(
        hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 2, num_hidden_layers=spec.vision_depth,
        num_attention_heads=spec.vision_heads, image_size=[px, px], patch_size=[patch, patch]),
        text_config=Qwen2Config(**text), image_token_id=ids["<IMG_CONTEXT>"], image_seq_length=seq_len,
        downsample_ratio=0.5)
    cfg._attn_implementation = spec.attn_implementation
    if spec.tie_word_embeddings is not None:
        cfg.tie_word_embeddings = spec.tie_word_embeddings
        cfg.get_text_config().tie_word_embeddings = spec.tie_word_embeddings
    model = InternVLForConditionalGeneration(cfg).eval()
    return model, processor
