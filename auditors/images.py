"""Reading an input image (PIL image or path) with a clear error when it cannot be read.

A path is read by `auditors.probes.files.decode_image`, the one reader of image files: what
`mllm-audit explain` accepts is what a probe set may hold (a 16-bit image, which RGB conversion
clips to white, is refused by both)."""

from __future__ import annotations

from pathlib import Path

from auditors.errors import AuditorInputError


def load_image(image):
    """Return an RGB ``PIL.Image``; raise AuditorInputError for anything unreadable."""
    from PIL import Image

    from auditors.probes.files import FileProblem, decode_image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise AuditorInputError(f"image file not found: {path}")
        try:  # the probe sets' reader: the same checks (whole decode, size limits, 8-bit modes)
            return decode_image(path)
        except FileProblem as problem:  # it names the file and what is wrong with it
            raise AuditorInputError(str(problem)) from None
    raise AuditorInputError(f"image must be a PIL image or a path, got {type(image).__name__}")
