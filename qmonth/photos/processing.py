"""Verify and normalise an uploaded photo: decode once, keep three clean JPEGs.

Every photo is re-encoded rather than stored as sent: re-encoding is the only
way to be sure that what we keep is really a picture (not HTML or a polyglot
file), that it carries no EXIF/GPS/XMP/comments from the phone, that it is
upright without relying on an orientation tag (the PDF renderer ignores EXIF),
and that its size is bounded.

Colour: when the upload embeds an ICC profile (iPhones tag photos Display P3,
CMYK files often carry a press profile) the pixels are converted to sRGB with
LittleCMS and the profile is then dropped; untagged JPEG is read as sRGB by
browsers and PDF viewers alike. Without a profile the pixels are taken as sRGB.

The functions here are pure: bytes in, bytes out, no Flask, no database.
"""
from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageCms

from . import capture_time

pillow_heif.register_heif_opener()

# By default Pillow frees each image buffer as soon as the image goes and the
# C allocator gives the memory back to the kernel, so every 12-MP photo
# faulted ~35 MB of fresh zeroed pages back in: 20 ms of kernel time, an
# eighth of the whole. With two freed blocks kept for reuse the next photo
# finds its memory mapped; in return a worker process keeps ~40 MB more
# resident. An operator's PILLOW_BLOCKS_MAX wins.
if "PILLOW_BLOCKS_MAX" not in os.environ:
    Image.core.set_blocks_max(2)

logger = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000

PRINT_LONG_SIDE = 1600
SCREEN_LONG_SIDE = 1280
THUMB_LONG_SIDE = 400
PRINT_QUALITY = 80
SCREEN_QUALITY = 82
THUMB_QUALITY = 75

MESSAGE_EMPTY = "文件为空，请重新选择照片。"
MESSAGE_NOT_IMAGE = "文件不是有效的图片（JPEG、PNG、WebP 或 HEIC）。"
MESSAGE_TOO_LARGE = "文件过大：单张照片不能超过 {limit} MB。"
MESSAGE_TOO_MANY_PIXELS = "图片尺寸过大：像素总数不能超过 {limit} 万。"
MESSAGE_CORRUPT = "图片文件已损坏或不完整，无法读取。"

# Enough for every signature below, including a long HEIF brand list.
_SNIFF_BYTES = 64
_HEVC_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
)
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"heif"})
# AVIF shares the HEIF container but this build of libheif has no AV1 decoder.
_AV1_BRANDS = frozenset({b"avif", b"avis"})

# Errors Pillow and pillow_heif raise on malformed input. Anything else that
# escapes decoding is still turned into a rejection, but logged, because it
# may be a bug of ours rather than a bad file.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    RuntimeError,
    MemoryError,
    ZeroDivisionError,
    Warning,  # only raised when warnings are configured as errors
)

# EXIF orientation -> the transpose that makes the stored pixels upright
# (the same table as PIL.ImageOps.exif_transpose).
_UPRIGHT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_WHITE = (255, 255, 255)


class PhotoRejected(ValueError):
    """The upload is not a photo we accept; ``message`` is shown to the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "empty", "too_large", "not_image", "too_many_pixels", "corrupt"
        self.message = message


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    """The stored copies of one photo, all JPEG without metadata."""

    screen: bytes
    print: bytes
    thumb: bytes
    width: int
    height: int
    source_format: str
    sha256: str
    original_sha256: str  # of the bytes as sent: the same picture sent twice has the same one
    taken_at: datetime | None  # EXIF DateTimeOriginal of the original, when it carries one


def sniff_image_type(head: bytes) -> str | None:
    """Name the accepted image type from its magic bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major_brand = head[8:12]
        box_end = min(int.from_bytes(head[:4], "big"), len(head))
        compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
        if major_brand in _AV1_BRANDS:
            return None
        if major_brand in _HEVC_BRANDS or compatible & _HEVC_BRANDS:
            return "HEIF"
        if major_brand in _GENERIC_HEIF_BRANDS and not compatible & _AV1_BRANDS:
            return "HEIF"
    return None


def process_photo(
    stream: BinaryIO, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> ProcessedPhoto:
    """Verify an uploaded photo and return its upright, metadata-free copies.

    Raises PhotoRejected, and nothing else, for any input that is not an
    acceptable photo.
    """
    data = _read_at_most(stream, max_bytes + 1)
    if not data:
        raise PhotoRejected("empty", MESSAGE_EMPTY)
    if len(data) > max_bytes:
        raise PhotoRejected(
            "too_large", MESSAGE_TOO_LARGE.format(limit=f"{max_bytes / 2**20:g}")
        )
    source_format = sniff_image_type(data[:_SNIFF_BYTES])
    if source_format is None:
        raise PhotoRejected("not_image", MESSAGE_NOT_IMAGE)

    try:
        decoded = _decode(data, source_format, max_pixels)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own, process-wide limit tripped before ours could look
        # (the warning arrives as an exception when warnings are errors).
        raise _too_many_pixels(max_pixels) from None
    except _DECODE_ERRORS:
        # Includes UnidentifiedImageError: the magic bytes named a format we
        # accept, so a file its plugin cannot parse is damaged, not foreign.
        raise PhotoRejected("corrupt", MESSAGE_CORRUPT) from None
    except Exception:
        logger.warning("Unexpected error decoding a %s upload", source_format, exc_info=True)
        raise PhotoRejected("corrupt", MESSAGE_CORRUPT) from None

    width, height = decoded.upright_size
    print_copy = _upright_srgb_copy(decoded, PRINT_LONG_SIDE)
    # Each copy is made from the next larger one, at most about 3x smaller, where a
    # triangle filter is as good as bicubic for a third less time.
    screen_copy = _resize(print_copy, _fit(width, height, SCREEN_LONG_SIDE), Image.Resampling.BILINEAR)
    thumb_copy = _resize(screen_copy, _fit(width, height, THUMB_LONG_SIDE), Image.Resampling.BILINEAR)
    print_bytes = _encode_jpeg(print_copy, PRINT_QUALITY)
    return ProcessedPhoto(
        screen=_encode_jpeg(screen_copy, SCREEN_QUALITY),
        print=print_bytes,
        thumb=_encode_jpeg(thumb_copy, THUMB_QUALITY),
        width=width,
        height=height,
        source_format=source_format,
        sha256=hashlib.sha256(print_bytes).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        taken_at=decoded.taken_at,
    )


@dataclass(frozen=True, slots=True)
class _Decoded:
    image: Image.Image  # RGB or CMYK as stored (not yet upright), maybe decoded smaller
    stored_size: tuple[int, int]  # full size as stored in the file
    orientation: int  # EXIF orientation, 1-8
    icc_profile: bytes | None
    taken_at: datetime | None = None

    @property
    def upright_size(self) -> tuple[int, int]:
        width, height = self.stored_size
        return (height, width) if self.orientation in (5, 6, 7, 8) else (width, height)


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _too_many_pixels(max_pixels: int) -> PhotoRejected:
    return PhotoRejected(
        "too_many_pixels", MESSAGE_TOO_MANY_PIXELS.format(limit=f"{max_pixels / 10_000:g}")
    )


def _decode(data: bytes, source_format: str, max_pixels: int) -> _Decoded:
    # Only the sniffed format may claim the bytes, so a PNG cannot be handed
    # to, say, the EPS plugin by a crafted header.
    img = Image.open(io.BytesIO(data), formats=[source_format])
    stored_width, stored_height = img.size
    # img.size comes from the header: refusing here costs no pixel memory.
    if stored_width < 1 or stored_height < 1:
        raise PhotoRejected("corrupt", MESSAGE_CORRUPT)
    if stored_width * stored_height > max_pixels:
        raise _too_many_pixels(max_pixels)
    if not _has_end_marker(data, img):
        raise PhotoRejected("corrupt", MESSAGE_CORRUPT)

    if img.format in ("JPEG", "MPO"):
        # Let libjpeg scale by 1/2, 1/4 or 1/8 while decoding. The box must
        # have the image's aspect ratio: Pillow picks the largest scale that
        # keeps *both* sides at or above it, so a square box would defeat it.
        img.draft("RGB", _fit(stored_width, stored_height, PRINT_LONG_SIDE))
    # Multi-frame files (APNG, animated WebP, HEIF sequences, MPO) stay on
    # their first/primary frame: we never seek.
    img.load()

    orientation = _exif_orientation(img)
    taken_at = capture_time.from_image(img)
    icc_profile = img.info.get("icc_profile")
    image = img if img.mode == "CMYK" else _flatten_to_rgb(img)
    image.info = {}  # resize() copies info into every output; keep nothing
    return _Decoded(image, (stored_width, stored_height), orientation, icc_profile, taken_at)


def _has_end_marker(data: bytes, img: Image.Image) -> bool:
    """Whether a JPEG or PNG reaches its end marker, i.e. was not cut short.

    WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES = True for the whole
    process when the reports import it, and Pillow then grey-fills a JPEG or
    PNG cut short by a dropped connection instead of failing. This check does
    not depend on that flag. The WebP and HEIF decoders fail on truncated
    data whatever the flag says.
    """
    if img.format in ("JPEG", "MPO"):
        # 0xFFD9 cannot occur inside entropy-coded data (0xFF is stuffed),
        # so the first one after the scan header ends the (first) image.
        # Whether there is one is all we ask, and searching from the end
        # answers at once for a whole file instead of reading 3 MB.
        scan_start = img.tile[0][2] if img.tile else 0
        return data.rfind(b"\xff\xd9", scan_start) != -1
    if img.format == "PNG":
        return data.rfind(b"\x00\x00\x00\x00IEND", 8) != -1
    return True


def _upright_srgb_copy(decoded: _Decoded, long_side: int) -> Image.Image:
    # Resize first, then convert colours and turn upright: both are cheaper
    # on the smaller image, and neither changes what resizing does.
    target = _fit(*decoded.stored_size, long_side)
    # A JPEG leaves draft mode at most 2x too large. For that last step a
    # triangle filter measured as close to a full-resolution Lanczos
    # reference as Lanczos and bicubic do (within 0.6 dB PSNR, all above
    # 40 dB), for a third less time than bicubic.
    if max(decoded.image.size) <= 2 * max(target):
        resample = Image.Resampling.BILINEAR
    else:
        resample = Image.Resampling.BICUBIC
    image = _resize(decoded.image, target, resample)
    image = _to_srgb(image, decoded.icc_profile)
    if decoded.orientation in _UPRIGHT_TRANSPOSE:
        image = image.transpose(_UPRIGHT_TRANSPOSE[decoded.orientation])
    image.info = {}
    return image


def _exif_orientation(img: Image.Image) -> int:
    # Read after load() but from the decoder's info, before any conversion
    # drops it. pillow_heif applies HEIF rotations itself and resets this tag
    # to 1. A malformed EXIF block is no reason to refuse the photo.
    try:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def _to_srgb(img: Image.Image, icc_profile: bytes | None) -> Image.Image:
    converted = _profile_to_srgb(img, icc_profile)
    if converted is not None:
        return converted
    return img if img.mode == "RGB" else img.convert("RGB")


def _flatten_to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in _SIXTEEN_BIT_MODES:
        # convert("L") would clip 16-bit samples at 255 instead of scaling;
        # a 16-bit transparent colour no longer means anything afterwards.
        img = img.convert("I").point(lambda value: value / 256).convert("L")
        img.info.pop("transparency", None)
    if img.mode == "P" or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, _WHITE)
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img if img.mode == "RGB" else img.convert("RGB")


def _profile_to_srgb(img: Image.Image, icc_profile: bytes | None) -> Image.Image | None:
    if not icc_profile:
        return None
    try:
        transform = _transform_to_srgb(icc_profile, img.mode)
        return img if transform is None else ImageCms.applyTransform(img, transform)
    except Exception:
        # A broken or mismatched profile (a grey profile on an RGB image) is
        # dropped: the pixels are then read as sRGB.
        return None


@functools.lru_cache(maxsize=8)
def _transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform to sRGB, or None when the pixels already are sRGB.

    Building a transform costs more than applying it, and phones embed the
    same few profiles (Display P3 on every iPhone photo), hence the cache.
    Applying one still costs ~25 ns a pixel, so sRGB-tagged photos (most
    Android phones and cameras) skip it. NOCACHE makes a shared transform
    safe to use from several threads at once.
    """
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    description = source.profile.profile_description or ""
    if mode == "RGB" and description.lower().startswith("srgb"):
        return None
    return ImageCms.buildTransform(source, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE)


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """The size within long_side x long_side, never larger than the original."""
    scale = long_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(
    img: Image.Image,
    size: tuple[int, int],
    resample: Image.Resampling = Image.Resampling.BICUBIC,
) -> Image.Image:
    if img.size == size:
        return img
    # reducing_gap only matters for sources six or more times the target
    # (no draft mode for PNG, WebP, HEIC): they are box-averaged first.
    return img.resize(size, resample, reducing_gap=3.0)


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    # Baseline with optimised Huffman tables for all three copies. Progressive
    # made the screen copy 1.5 % smaller but took 2.5 times as long to encode
    # (15 ms against 6 ms for a 12-MP photo); a blurred first scan of a ~75 KB
    # picture is not worth that.
    out = io.BytesIO()
    img.save(
        out,
        "JPEG",
        quality=quality,
        optimize=True,
        subsampling="4:2:0",
        exif=b"",
        comment=b"",
    )
    return out.getvalue()
