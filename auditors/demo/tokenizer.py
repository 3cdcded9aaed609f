"""The demo model's word-level tokenizer, built locally (no hub download).

Why word-level: the scene captions use a dozen words, and one token per word makes every explained token a
whole word (colour or shape), so explanation maps group by word without any sub-word merging. Decoding puts
a space between words. A lowercase normaliser lets "Describe the image" and "describe the image" tokenise
alike. The Qwen2-VL special tokens are added so the real Qwen2-VL/2.5-VL processor and model code work
unchanged, and a chat template is saved so ``processor.apply_chat_template`` builds the training prompt.
"""

from __future__ import annotations

from typing import Any

from .scenes import COLOUR_WORDS, SHAPE_WORDS

SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
PROMPT_WORDS: tuple[str, ...] = ("describe", "the", "image", "user", "assistant")
CAPTION_WORDS: tuple[str, ...] = ("a", "and", ".") + COLOUR_WORDS + SHAPE_WORDS
WORDS: tuple[str, ...] = ("<unk>",) + CAPTION_WORDS + PROMPT_WORDS

DEFAULT_PROMPT = "describe the image"

# Jinja chat template: one user turn holding the image and the text, then the assistant prefix.
# "<|im_start|>user <|vision_start|><|image_pad|><|vision_end|>describe the image<|im_end|><|im_start|>assistant "
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }} "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant {% endif %}"
)


def format_prompt(prompt: str = DEFAULT_PROMPT) -> str:
    """The exact text the model was trained on for one image and ``prompt`` (same as the chat template)."""
    return f"<|im_start|>user <|vision_start|><|image_pad|><|vision_end|>{prompt}<|im_end|><|im_start|>assistant "


def chat_messages(prompt: str = DEFAULT_PROMPT) -> list[dict[str, Any]]:
    """Messages for ``processor.apply_chat_template(..., add_generation_prompt=True)``."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


def build_tokenizer() -> Any:
    """A ``PreTrainedTokenizerFast`` over ``WORDS`` + Qwen specials, eos ``<|im_end|>``, pad ``<|endoftext|>``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_start_token": "<|vision_start|>",
            "vision_end_token": "<|vision_end|>",
        },
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
