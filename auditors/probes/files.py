"""Reading a probe set's files: its two text files, and its images and masks decoded whole.

Why one module: the audit decodes each image and mask with these functions (`Probe.load_image`,
`Probe.load_mask`), and the reader calls the very same functions when it validates a folder, so a
file that passes validation is one the audit can read, and a file the audit could not read is
reported before the audit starts. Every failure is a `FileProblem` with a message that names the
file; the reader adds the manifest line that refers to it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
from PIL import Image

from auditors.errors import AuditorInputError
from auditors.probes.rules import IMAGE_MODES, MAX_ASPECT_RATIO, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS

_T = TypeVar("_T")
_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
               (b"\xfe\xff", "UTF-16"))


class FileProblem(AuditorInputError):
    """A file that cannot be used as it is; `code` is the stable problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_text(path: Path, max_bytes: int) -> str:
    """The file as UTF-8 text (a leading UTF-8 byte-order mark is allowed and dropped).

    Raises `FileProblem` for a file over `max_bytes`, UTF-16/32 text, or bytes that are not UTF-8
    (naming the line of the first bad byte).
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise FileProblem("too_large", f"{path.name} is {size:,} bytes (at most {max_bytes:,})")
    data = path.read_bytes()
    for bom, encoding in _OTHER_BOMS:
        if data.startswith(bom):
            raise FileProblem("bad_encoding", f"{path.name} is {encoding} text: save it as UTF-8")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FileProblem("bad_encoding", f"{path.name} line {line}: byte 0x{data[error.start]:02x} is not UTF-8 "
                                          "(save the file as UTF-8)") from None


def decode_image(path: Path, name: str | None = None) -> Image.Image:
    """The image as the model receives it: decoded whole and converted to RGB.

    Raises `FileProblem` for an empty, oversized, unreadable, truncated or unsupported file (named
    `name`, by default its path, in the message).
    """
    what = f"image {name or path}"
    with _open_checked(path, what) as image:
        if image.mode not in IMAGE_MODES:
            raise FileProblem("unsupported_image", f"{what} has pixel mode {image.mode} (16-bit or floating-point), "
                                                   "which RGB conversion clips: save it as 8-bit RGB")
        return _decoded(what, lambda: image.convert("RGB"))


def decode_mask(path: Path, name: str | None = None) -> np.ndarray:
    """The mask as the metrics read it: bool [height, width], foreground where the 8-bit grey value
    of the pixel is not zero (alpha and palette indices are not consulted)."""
    what = f"mask {name or path}"
    with _open_checked(path, what) as mask:
        return _decoded(what, lambda: np.asarray(mask.convert("L")) > 0)


def _open_checked(path: Path, what: str) -> Image.Image:
    """The file opened (header only) after the checks that need no decoding: size and pixel count."""
    size = path.stat().st_size
    if size == 0:
        raise FileProblem("unreadable_file", f"{what} is empty")
    if size > MAX_IMAGE_FILE_BYTES:
        raise FileProblem("too_large", f"{what} is {size:,} bytes (at most {MAX_IMAGE_FILE_BYTES:,})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileProblem("too_large", f"{what} declares more pixels than Pillow will decode "
                                       f"(a decompression bomb?; at most {MAX_IMAGE_PIXELS:,})") from None
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for a bad header
        raise FileProblem("unreadable_file", f"{what} is not a readable image ({_reason(error)})") from None
    width, height = image.size
    problem = None
    if width < 1 or height < 1:
        problem = ("unreadable_file", f"{what} is {width}x{height} pixels")
    elif width * height > MAX_IMAGE_PIXELS:
        problem = ("too_large", f"{what} is {width}x{height} = {width * height:,} pixels "
                                f"(at most {MAX_IMAGE_PIXELS:,}: resize it)")
    elif max(width, height) / min(width, height) >= MAX_ASPECT_RATIO:
        problem = ("bad_image_shape", f"{what} is {width}x{height}: aspect ratio over "
                                      f"{MAX_ASPECT_RATIO:.0f}:1")
    if problem:
        image.close()
        raise FileProblem(*problem)
    return image


def _decoded(what: str, decode: Callable[[], _T]) -> _T:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "palette images with transparency": converted all the same
            return decode()
    except Exception as error:  # noqa: BLE001 - truncated data, bad CRCs, zlib errors, text-chunk bombs
        raise FileProblem("unreadable_file", f"{what} cannot be decoded ({_reason(error)})") from None


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:160] + "...") if len(text) > 160 else (text or type(error).__name__)


def absent_file_message(root: Path, name: str) -> str:
    """Why `root/name` cannot be read as a file: a folder in its place, or absent (naming files in
    `root` that are `name` in another spelling, `probeset.yml`, `Probes.JSONL`, so the cure is a rename).

    Why the stem must match whole: `probeset.yaml` begins like `probes.jsonl` but is the other file,
    and telling a user to rename it would break the set.
    """
    path = root / name
    if path.exists():
        return f"{path} is not a regular file"
    stem = name.split(".")[0].lower()
    try:
        found = sorted(p.name for p in root.iterdir() if p.name != name and p.name.lower().split(".")[0] == stem)
    except OSError:
        found = []
    return f"{path} does not exist" + (f" (found {', '.join(found[:3])}: rename it)" if found else "")
