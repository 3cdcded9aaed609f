"""Image-only processors for model families whose stock processor cannot be built here.

WHY: in transformers 5.x every *video* processor needs torchvision, and torchvision's CPU wheel does
not work next to torch 2.13 CPU (found when the project's stack was installed). The stock ``Qwen2VLProcessor`` (also used for
Qwen2.5-VL) insists on a video processor, so it can neither be constructed nor loaded with
``AutoProcessor``. This subclass drops the video processor; images and text work exactly as in the
stock class (same token expansion, same ``mm_token_type_ids``).
"""

from __future__ import annotations

import re

from transformers import InternVLProcessor, Qwen2VLProcessor
from transformers.processing_utils import ProcessorMixin


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """``Qwen2VLProcessor`` without a video processor (works for Qwen2-VL and Qwen2.5-VL images)."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


class ImageOnlyInternVLProcessor(InternVLProcessor):
    """``InternVLProcessor`` without a video processor (same reason as the Qwen one above)."""

    def __init__(self, image_processor=None, tokenizer=None, image_seq_length: int = 256, chat_template=None,
                 **kwargs):
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
        self.image_seq_length = image_seq_length
        self.start_image_token = tokenizer.start_image_token
        self.end_image_token = tokenizer.end_image_token
        self.start_image_token_id = tokenizer.start_image_token_id
        self.end_image_token_id = tokenizer.end_image_token_id
        self.image_token = tokenizer.context_image_token
        self.video_token = tokenizer.video_token
        self.image_token_id = tokenizer.context_image_token_id
        self.multimodal_pattern = re.compile(
            f"(?P<image>{re.escape(self.image_token)})|(?P<video>{re.escape(self.video_token)})")


#: processor class name (as saved in processor_config.json) -> class, for loading saved folders.
IMAGE_ONLY_PROCESSORS = {
    "ImageOnlyQwen2VLProcessor": ImageOnlyQwen2VLProcessor,
    "ImageOnlyInternVLProcessor": ImageOnlyInternVLProcessor,
}
