"""Shared logic of fixed-canvas families (LLaVA-1.5, InternVL single tile).

The image is letterboxed onto the model's square canvas: resized (aspect kept) to fit ``scale``
times the canvas, snapped to whole vision tokens, centred on the token grid, the rest filled with
the processor's mean colour (LLaVA-1.5's own "pad" preprocessing). The map of the image is then
the ``content_box`` sub-grid. Scales above 1 cannot be shown on a fixed canvas and are refused.
"""

from __future__ import annotations

from abc import abstractmethod

from PIL import Image

from auditors.adapters.base import ModelAdapter, PreparedInput, scaled_size
from auditors.errors import AuditorInputError


class FixedCanvasAdapter(ModelAdapter):
    fixed_canvas = True

    @abstractmethod
    def canvas_side(self, model, processor) -> int:
        """Side of the square canvas in pixels."""

    @abstractmethod
    def token_pixels(self, model, processor) -> int:
        """Side in pixels of the image square behind one vision token."""

    def letterbox(self, image: Image.Image, canvas: int, unit: int, scale: float, fill) -> tuple[Image.Image, tuple]:
        if scale > 1.0:
            raise AuditorInputError(f"{self.name} has a fixed {canvas}px canvas: scales above 1 are not supported "
                                    f"(got {scale}); use scales <= 1")
        w0, h0 = image.size
        fit = canvas * scale / max(w0, h0)
        w, h = scaled_size(w0, h0, fit, unit, self.name)
        grid = canvas // unit
        x0 = (grid - w // unit) // 2
        y0 = (grid - h // unit) // 2
        board = Image.new("RGB", (canvas, canvas), fill)
        board.paste(image.convert("RGB").resize((w, h), resample=3), (x0 * unit, y0 * unit))
        return board, (x0, y0, x0 + w // unit, y0 + h // unit)

    def mean_colour(self, processor) -> tuple[int, int, int]:
        mean = getattr(processor.image_processor, "image_mean", None) or (0.5, 0.5, 0.5)
        return tuple(int(round(255 * float(v))) for v in mean[:3])

    def prepare(self, model, processor, image, prompt, scale=1.0, reference=None) -> PreparedInput:
        canvas, unit = self.canvas_side(model, processor), self.token_pixels(model, processor)
        board, box = self.letterbox(image, canvas, unit, scale, self.mean_colour(processor))
        text = self.render_prompt(processor, prompt)
        inputs = self._encode(model, processor, board, text, self.processor_kwargs(processor, board.size))
        grid = (canvas // unit, canvas // unit)
        ids = inputs["input_ids"][0].cpu().numpy()
        return PreparedInput(inputs=inputs, vision_positions=self.vision_positions(model, ids, grid[0] * grid[1]),
                             grid_shape=grid, content_box=box,
                             prompt_positions=self.locate_prompt(processor, text, prompt, ids), scale=scale)
