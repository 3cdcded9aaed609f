"""LLaVA-1.5: a CLIP vision tower on a fixed square canvas, one token per patch (CLS dropped)."""

from __future__ import annotations

from auditors.adapters.canvas import FixedCanvasAdapter


class LlavaAdapter(FixedCanvasAdapter):
    name = "llava"
    architectures = ("LlavaForConditionalGeneration",)
    fallback_template = "USER: {image}\n{prompt} ASSISTANT:"

    def canvas_side(self, model, processor) -> int:
        return int(model.config.vision_config.image_size)

    def token_pixels(self, model, processor) -> int:
        return int(model.config.vision_config.patch_size)
