"""Config and construction of the demo model: the real ``Qwen2_5_VLForConditionalGeneration``, tiny.

Why these numbers (measured in docs/tiny-vlm-experiments.md): 112-px images give a 4x4 grid of merged vision
tokens, cheap enough to train on one CPU core; Qwen2.5-VL's windowed vision attention (windows of 2x2
merged tokens, last block full attention) is what made shapes learnable in minutes; the text model is
3 layers of width 128 with the input embeddings tied to the output head (so a logit-lens map of a word is
the dot product of the vision token's state with that word's own embedding).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

IMAGE_SIZE = 112
PATCH_SIZE = 14
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
GRID = IMAGE_SIZE // (PATCH_SIZE * MERGE_SIZE)  # 4: the merged-token grid is GRID x GRID
N_IMAGE_TOKENS = GRID * GRID
IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OPENAI CLIP, the Qwen2-VL image processor default
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class DemoModelConfig:
    vision_depth: int = 4
    vision_hidden: int = 128
    vision_intermediate: int = 256
    vision_heads: int = 4
    window_size: int = 56  # pixels in transformers 5.x: 56 // merge 2 // patch 14 = 2x2 merged tokens
    text_hidden: int = 128
    text_layers: int = 3
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 384
    mrope_section: tuple[int, int, int] = (4, 6, 6)  # sums to head_dim / 2 = 16

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_image_processor() -> Any:
    from transformers import Qwen2VLImageProcessorPil

    px = IMAGE_SIZE * IMAGE_SIZE
    return Qwen2VLImageProcessorPil(
        min_pixels=px, max_pixels=px, patch_size=PATCH_SIZE, temporal_patch_size=TEMPORAL_PATCH_SIZE, merge_size=MERGE_SIZE
    )


def build_processor(tokenizer: Any | None = None) -> Any:
    from ..processors import ImageOnlyQwen2VLProcessor
    from .tokenizer import CHAT_TEMPLATE, build_tokenizer

    tokenizer = build_tokenizer() if tokenizer is None else tokenizer
    return ImageOnlyQwen2VLProcessor(build_image_processor(), tokenizer, chat_template=CHAT_TEMPLATE)


def build_model(tokenizer: Any, config: DemoModelConfig = DemoModelConfig(), seed: int = 0) -> Any:
    """A randomly initialised model; ``seed`` makes the initial weights reproducible."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    c = config
    if sum(c.mrope_section) * 2 != c.text_hidden // c.text_heads:
        raise ValueError(f"mrope_section {c.mrope_section} must sum to head_dim/2 = {c.text_hidden // c.text_heads // 2}")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>", "<|image_pad|>",
                                                            "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")}
    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=c.text_hidden, intermediate_size=c.text_intermediate,
            num_hidden_layers=c.text_layers, num_attention_heads=c.text_heads, num_key_value_heads=c.text_kv_heads,
            max_position_embeddings=512,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": list(c.mrope_section)},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=c.vision_depth, hidden_size=c.vision_hidden, intermediate_size=c.vision_intermediate,
            num_heads=c.vision_heads, patch_size=PATCH_SIZE, spatial_merge_size=MERGE_SIZE,
            temporal_patch_size=TEMPORAL_PATCH_SIZE, window_size=c.window_size, out_hidden_size=c.text_hidden,
            fullatt_block_indexes=[c.vision_depth - 1],
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    return model
