"""InternVL (transformers-native ``InternVLForConditionalGeneration``), one 448 px tile.

Patches of ``patch_size`` are pixel-shuffled by ``downsample_ratio`` (0.5: 2x2 patches per token),
row-major over the shuffled grid. Tiling (``crop_to_patches``) is switched off: one tile only.
"""

from __future__ import annotations

from auditors.adapters.canvas import FixedCanvasAdapter


class InternVLAdapter(FixedCanvasAdapter):
    name = "internvl"
    architectures = ("InternVLForConditionalGeneration",)
    fallback_template = "<|im_start|>user\n{image}\n{prompt}<|im_end|>\n<|im_start|>assistant\n"

    def image_placeholder(self, processor) -> str:
        return getattr(processor, "image_token", None) or "<IMG_CONTEXT>"

    def canvas_side(self, model, processor) -> int:
        size = model.config.vision_config.image_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    def token_pixels(self, model, processor) -> int:
        patch = model.config.vision_config.patch_size
        patch = int(patch[0] if isinstance(patch, (list, tuple)) else patch)
        return int(round(patch / float(model.config.downsample_ratio)))

    def processor_kwargs(self, processor, image_size):
        return {"crop_to_patches": False}
