"""Reading an input image (PIL image or path) with a clear error when it cannot be read."""

from __future__ import annotations

from pathlib import Path

from auditors.errors import AuditorInputError


def load_image(image):
    """Return an RGB ``PIL.Image``; raise AuditorInputError for anything unreadable."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise AuditorInputError(f"image file not found: {path}")
        try:
            with Image.open(path) as img:
                img.load()
                return img.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise AuditorInputError(f"cannot read image {path}: {exc}") from exc
    raise AuditorInputError(f"image must be a PIL image or a path, got {type(image).__name__}")
