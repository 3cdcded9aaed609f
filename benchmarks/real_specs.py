"""Published shapes of real vision-language checkpoints, for random-weight stand-ins built here.

WHY: real checkpoints cannot be downloaded on the project's machines, yet the audit must be taken
through the path a user's Qwen2-VL / Qwen2.5-VL / InternVL / LLaVA checkpoint takes, at its real
size. Every number below is the checkpoint's published configuration (``config.json``,
``preprocessor_config.json``, special-token ids of its tokenizer), written here in transformers 5
field names (``rope_parameters`` instead of ``rope_theta`` + ``rope_scaling``). Only the weights
(random), the tokenizer's ordinary words (word-level, see ``auditors.synthetic_models``) and the
chat templates (written here to produce the same prompt layout) are not the real ones.

Sources (the configs as quoted in public code, read through the project's search tool):
  Qwen2-VL-2B-Instruct: the config quoted in a PaddleMIX test of ``Qwen/Qwen2-VL-2B-Instruct``
    (hidden 1536, 28 layers, 12 heads / 2 kv, 8960, vision depth 32 x 1280, mrope [16, 24, 24],
    vocab 151936, tied head) and the model print of Qwen2-VL (vision MLP 1280 -> 5120, merger
    5120 -> 5120 -> hidden); special ids from the Qwen2 tokenizer's added tokens.
  Qwen2.5-VL-3B-Instruct: its config.json as quoted in two public repositories (a DriveLLM JSON
    parser test and a model-print note): hidden 2048, 36 layers, 16 / 2 heads, 11008, vision
    depth 32 x 1280 (3420, silu), window 112, full-attention blocks 7/15/23/31, out 2048.
  Qwen image processor: ``preprocessor_config.json`` of Qwen2.5-VL-7B-Instruct (min_pixels 3136,
    max_pixels 12845056, patch 14, temporal 2, merge 2, CLIP mean/std), the same for Qwen2-VL.
  InternVL3-1B(-hf): the printed ``InternVLChatModel`` and its config (InternViT-300M: 24 x 1024,
    16 heads, 4096, patch 14, 448 px, layer scale 0.1; Qwen2.5-0.5B: 896, 24 layers, 14 / 2 heads,
    4864, vocab 151674, untied head; pixel shuffle 0.5; projector LayerNorm(4096) -> 896 -> 896),
    the tokenizer's added tokens (<img> 151665, </img> 151666, <IMG_CONTEXT> 151667) and the
    InternVL HF processor config (GotOcr2 448x448 tiles, max_patches 12, ImageNet mean/std,
    image_seq_length 256).
  InternVL3-2B(-hf): the same vision tower with Qwen2.5-1.5B (1536, 28 layers, 12 / 2 heads,
    8960, vocab 151674), as quoted in a TensorRT multimodal config test.
  LLaVA-1.5-7b-hf: its config.json as quoted in several repositories (image_token_index 32000,
    pad 32001, vocab 32064, CLIP ViT-L/14-336: 24 x 1024, 16 heads, 4096, quick_gelu; Vicuna-7B:
    4096, 32 layers, 32 heads, 11008, rms eps 1e-5; vision_feature_layer -2, projector gelu) and
    the CLIP image processor of llava-1.5 (336 px, CLIP mean/std, bicubic).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

QWEN_SPECIAL_IDS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647, "<|box_start|>": 151648, "<|box_end|>": 151649, "<|quad_start|>": 151650,
    "<|quad_end|>": 151651, "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655, "<|video_pad|>": 151656,
}
INTERNVL_SPECIAL_IDS = {**QWEN_SPECIAL_IDS, "<img>": 151665, "</img>": 151666, "<IMG_CONTEXT>": 151667,
                        "<quad>": 151668, "</quad>": 151669, "<ref>": 151670, "</ref>": 151671, "<box>": 151672,
                        "</box>": 151673}
LLAVA_SPECIAL_IDS = {"<unk>": 0, "<s>": 1, "</s>": 2, "<image>": 32000, "<pad>": 32001}

# Chat templates written for these stand-ins: same prompt layout as the real ones (system line of
# the Qwen2-VL instruct models; InternVL's "<IMG_CONTEXT>\n" image slot; LLaVA-1.5's USER/ASSISTANT).
_IMAGE_OR_TEXT = ("{% for part in message['content'] %}{% if part['type'] == 'image' %}IMAGE"
                  "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}")
QWEN_TEMPLATE = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% for message in messages %}"
                 "<|im_start|>{{ message['role'] }}\n"
                 + _IMAGE_OR_TEXT.replace("IMAGE", "<|vision_start|><|image_pad|><|vision_end|>")
                 + "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
INTERNVL_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
                     + _IMAGE_OR_TEXT.replace("IMAGE", "<IMG_CONTEXT>\n")
                     + "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
LLAVA_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: "
                  "{% endif %}" + _IMAGE_OR_TEXT.replace("IMAGE", "<image>\n") + "{% endfor %}"
                  "{% if add_generation_prompt %} ASSISTANT:{% endif %}")
TEMPLATE_WORDS = "system You are a helpful assistant . user USER ASSISTANT : \n".split()


@dataclass(frozen=True)
class RealShape:
    """One checkpoint's published shape: what ``benchmarks.real_shapes`` builds."""

    name: str
    family: str  # synthetic/adapter family: qwen2_vl, qwen2_5_vl, internvl, llava
    architecture: str
    checkpoint: str  # the published checkpoint this stands in for
    text: dict[str, Any]
    vision: dict[str, Any]
    top: dict[str, Any]  # top-level config fields (token ids, projector, ...)
    image_processor: dict[str, Any]
    processor: dict[str, Any]
    special_ids: dict[str, int]
    chat_template: str
    generation: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # how this stand-in departs from the checkpoint, if at all

    @property
    def vocab_size(self) -> int:
        return int(self.text["vocab_size"])


QWEN_IMAGE_PROCESSOR = dict(min_pixels=3136, max_pixels=12845056, patch_size=14, temporal_patch_size=2, merge_size=2,
                            image_mean=CLIP_MEAN, image_std=CLIP_STD)
QWEN_TOKENS = dict(image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
                   vision_end_token_id=151653)
# What Qwen2-VL-2B and Qwen2.5-VL-3B share in their text configs (both: 2 kv heads, tied head).
QWEN_TEXT = dict(vocab_size=151936, num_key_value_heads=2, hidden_act="silu", rms_norm_eps=1e-6,
                 tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645,
                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]})
QWEN_GENERATION = dict(bos_token_id=151643, pad_token_id=151643, eos_token_id=[151645, 151643])

QWEN2_VL_2B = RealShape(
    name="qwen2-vl-2b", family="qwen2_vl", architecture="Qwen2VLForConditionalGeneration",
    checkpoint="Qwen/Qwen2-VL-2B-Instruct",
    text=dict(QWEN_TEXT, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
              max_position_embeddings=32768),
    vision=dict(depth=32, embed_dim=1280, hidden_size=1536, mlp_ratio=4, num_heads=16, in_channels=3, patch_size=14,
                spatial_merge_size=2, temporal_patch_size=2, hidden_act="quick_gelu"),
    top=dict(QWEN_TOKENS, tie_word_embeddings=True),
    image_processor=QWEN_IMAGE_PROCESSOR, processor={}, special_ids=QWEN_SPECIAL_IDS, chat_template=QWEN_TEMPLATE,
    generation=dict(QWEN_GENERATION, do_sample=True, temperature=0.01, top_k=1, top_p=0.001))

QWEN2_5_VL_3B = RealShape(
    name="qwen2.5-vl-3b", family="qwen2_5_vl", architecture="Qwen2_5_VLForConditionalGeneration",
    checkpoint="Qwen/Qwen2.5-VL-3B-Instruct",
    text=dict(QWEN_TEXT, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
              max_position_embeddings=128000),
    vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, in_channels=3, out_hidden_size=2048,
                patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2, hidden_act="silu"),
    top=dict(QWEN_TOKENS, tie_word_embeddings=True),
    image_processor=QWEN_IMAGE_PROCESSOR, processor={}, special_ids=QWEN_SPECIAL_IDS, chat_template=QWEN_TEMPLATE,
    generation=dict(QWEN_GENERATION))

INTERNVIT_300M = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                      hidden_act="gelu", attention_bias=True, use_qk_norm=False, norm_type="layer_norm",
                      layer_norm_eps=1e-6, image_size=[448, 448], patch_size=[14, 14], num_channels=3,
                      layer_scale_init_value=0.1, use_absolute_position_embeddings=True, use_mean_pooling=True)
INTERNVL_TOP = dict(image_token_id=151667, image_seq_length=256, downsample_ratio=0.5, projector_hidden_act="gelu",
                    vision_feature_layer=-1, vision_feature_select_strategy="default")
INTERNVL_IMAGE_PROCESSOR = dict(size={"height": 448, "width": 448}, crop_to_patches=False, min_patches=1,
                                max_patches=12, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, resample=3)

INTERNVL3_1B = RealShape(
    name="internvl3-1b", family="internvl", architecture="InternVLForConditionalGeneration",
    checkpoint="OpenGVLab/InternVL3-1B-hf",
    text=dict(vocab_size=151674, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
              num_attention_heads=14, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=32768,
              rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=151643, eos_token_id=151645,
              rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    vision=INTERNVIT_300M, top=dict(INTERNVL_TOP, tie_word_embeddings=False),
    image_processor=INTERNVL_IMAGE_PROCESSOR, processor=dict(image_seq_length=256),
    special_ids=INTERNVL_SPECIAL_IDS, chat_template=INTERNVL_TEMPLATE,
    generation=dict(bos_token_id=151643, eos_token_id=151645, pad_token_id=151643))

INTERNVL3_2B = replace(
    INTERNVL3_1B, name="internvl3-2b", checkpoint="OpenGVLab/InternVL3-2B-hf",
    text={**INTERNVL3_1B.text, "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
          "num_attention_heads": 12})

CLIP_VIT_L_336 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                      num_channels=3)
VICUNA_7B = dict(vocab_size=32064, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, hidden_act="silu", max_position_embeddings=4096,
                 rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=32001,
                 rope_parameters={"rope_type": "default", "rope_theta": 10000.0})

LLAVA_1_5_7B = RealShape(
    name="llava-1.5-7b", family="llava", architecture="LlavaForConditionalGeneration",
    checkpoint="llava-hf/llava-1.5-7b-hf", text=VICUNA_7B, vision=CLIP_VIT_L_336,
    top=dict(image_token_index=32000, image_seq_length=576, projector_hidden_act="gelu", vision_feature_layer=-2,
             vision_feature_select_strategy="default", pad_token_id=32001, tie_word_embeddings=False),
    image_processor=dict(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}, do_center_crop=True,
                         resample=3, image_mean=CLIP_MEAN, image_std=CLIP_STD),
    processor=dict(patch_size=14, vision_feature_select_strategy="default", num_additional_image_tokens=1,
                   image_token="<image>"),
    special_ids=LLAVA_SPECIAL_IDS, chat_template=LLAVA_TEMPLATE,
    generation=dict(bos_token_id=1, eos_token_id=2, pad_token_id=32001))

# The full 7B in bfloat16 is 13.2 GiB of weights alone: over the 14 GiB a process may use on the
# shared development machine once the audit's own ~1.5 GiB is added. This stand-in keeps LLaVA's
# real CLIP ViT-L/14-336 tower, projector, vocabulary and the Vicuna-7B layer shape, with fewer
# decoder layers (see README: every per-token shape is the real one; depth is the only change).
LLAVA_1_5_7B_24L = replace(
    LLAVA_1_5_7B, name="llava-1.5-7b-24l", text={**VICUNA_7B, "num_hidden_layers": 24},
    note="24 of Vicuna-7B's 32 decoder layers (5.4 B parameters instead of 7.1 B): fits the 14 GiB budget in bf16")

SHAPES: dict[str, RealShape] = {s.name: s for s in (QWEN2_VL_2B, QWEN2_5_VL_3B, INTERNVL3_1B, INTERNVL3_2B,
                                                      LLAVA_1_5_7B, LLAVA_1_5_7B_24L)}


def miniature(shape: RealShape, layers: int = 1, width: int = 64) -> RealShape:
    """The same checkpoint interface (vocabulary, special ids, processor, grid rules) with tiny
    layers: what the tests build to check the builder without a multi-GB model."""
    heads = 4
    text = {**shape.text, "hidden_size": width, "intermediate_size": 2 * width, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": 2}
    if "mrope_section" in text["rope_parameters"]:
        half = width // heads // 2  # mrope sections add up to half the head dimension
        text["rope_parameters"] = {**text["rope_parameters"], "mrope_section": [half // 4, half // 4,
                                                                                half - 2 * (half // 4)]}
    vision = dict(shape.vision)
    for key, value in (("depth", layers), ("num_hidden_layers", layers), ("embed_dim", 32), ("num_heads", 2),
                       ("num_attention_heads", 2), ("intermediate_size", 64)):
        if key in vision:
            vision[key] = value
    if shape.family == "qwen2_vl":
        vision["hidden_size"] = width
    elif shape.family == "qwen2_5_vl":
        vision.update(hidden_size=32, out_hidden_size=width, fullatt_block_indexes=[layers - 1])
    else:
        vision["hidden_size"] = 32
    return replace(shape, name=f"{shape.name}-mini", text=text, vision=vision)
