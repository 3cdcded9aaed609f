"""Qwen2-VL: dynamic resolution; one vision token per 28x28 pixels (14 px patches merged 2x2).

A scale is the image resized so that each side is a multiple of 28: the grid changes with the
scale. The processor emits patch rows in merge-window order, but the merger turns each window
into one token, so the LLM's vision tokens are row-major over the (h/2, w/2) merged grid.
"""

from __future__ import annotations


from auditors.adapters.base import ModelAdapter, PreparedInput, scaled_size


class Qwen2VLAdapter(ModelAdapter):
    name = "qwen2_vl"
    architectures = ("Qwen2VLForConditionalGeneration",)
    fixed_canvas = False
    fallback_template = ("<|im_start|>user\n<|vision_start|>{image}<|vision_end|>{prompt}<|im_end|>\n"
                         "<|im_start|>assistant\n")

    def image_placeholder(self, processor) -> str:
        return getattr(processor, "image_token", None) or "<|image_pad|>"

    def _unit(self, processor) -> int:
        ip = processor.image_processor
        return int(ip.patch_size) * int(ip.merge_size)

    def prepare(self, model, processor, image, prompt, scale=1.0, reference=None) -> PreparedInput:
        unit = self._unit(processor)
        extra = {}
        if scale != 1.0 or reference is not None:
            base_w, base_h = image.size
            if reference is not None:  # scale relative to the grid the processor chose at scale 1
                base_h, base_w = reference.grid_shape[0] * unit, reference.grid_shape[1] * unit
            w, h = scaled_size(base_w, base_h, scale, unit, self.name)
            image = image.resize((w, h), resample=3)
            # widen the processor's pixel budget so that it keeps exactly this size
            extra["size"] = {"shortest_edge": min(unit * unit, w * h), "longest_edge": max(w * h, unit * unit)}
        text = self.render_prompt(processor, prompt)
        inputs = self._encode(model, processor, image, text, extra)
        t, gh, gw = (int(v) for v in inputs["image_grid_thw"][0])
        merge = int(processor.image_processor.merge_size)
        grid = (gh // merge, gw // merge)
        ids = inputs["input_ids"][0].cpu().numpy()
        return PreparedInput(inputs=inputs, vision_positions=self.vision_positions(model, ids, t * grid[0] * grid[1]),
                             grid_shape=grid, content_box=(0, 0, grid[1], grid[0]),
                             prompt_positions=self.locate_prompt(processor, text, prompt, ids), scale=scale)
