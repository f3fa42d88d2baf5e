"""Test images built in memory: camera-like photos, edge cases and hostile files."""
from __future__ import annotations

import io
import random
import struct
import zlib

import pillow_heif
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw

pillow_heif.register_heif_opener()

RED = (230, 20, 20)
BLUE = (20, 40, 230)
GREY = (128, 128, 128)

# The upright picture used for the orientation tests: wider than high, a red
# block in the top-left corner and a blue one in the bottom-right.
MARKER_SIZE = (120, 80)
MARKER_BLOCK = 32

# How a camera stores the upright picture for each EXIF orientation, written
# from the EXIF specification (the tag says how to turn the stored pixels
# upright; these are the inverses).
STORED_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,  # mirrored
    3: Image.Transpose.ROTATE_180,  # upside down
    4: Image.Transpose.FLIP_TOP_BOTTOM,  # mirrored vertically
    5: Image.Transpose.TRANSPOSE,  # mirrored along the main diagonal
    6: Image.Transpose.ROTATE_90,  # stored 90° anticlockwise: the usual portrait phone photo
    7: Image.Transpose.TRANSVERSE,  # mirrored along the other diagonal
    8: Image.Transpose.ROTATE_270,  # stored 90° clockwise
}

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>photo</title></head>"
    b"<body><script>alert(document.cookie)</script></body></html>\n"
)
SVG_IMAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>alert(1)</script><rect width="100" height="100" fill="red"/></svg>\n'
)


def encode(img: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def named_stream(data: bytes, name: str) -> io.BytesIO:
    """An upload as the view will see it: bytes plus a name that may lie."""
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def photo_like(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """Smooth gradients, sensor-like noise and a few hard edges, like a site photo."""
    size = (width, height)
    sky = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    light = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    ground = sky.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    noise = _sensor_noise(size)
    channels = [ImageChops.add(band, noise, offset=-128) for band in (light, ground, sky)]
    img = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(img)
    rng = random.Random(seed)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 20, width // 4), rng.randrange(height // 20, height // 4)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
        shape((x, y, x + w, y + h), fill=colour)
    return img


def _sensor_noise(size: tuple[int, int], sigma: float = 10) -> Image.Image:
    # effect_noise costs over a second at 12 MP; a tiled 509-px patch (an odd
    # period, so it does not line up with JPEG blocks) looks the same to an encoder.
    tile = Image.effect_noise((509, 509), sigma)
    noise = Image.new("L", size)
    for x in range(0, size[0], tile.width):
        for y in range(0, size[1], tile.height):
            noise.paste(tile, (x, y))
    return noise


def marker_image() -> Image.Image:
    img = Image.new("RGB", MARKER_SIZE, GREY)
    draw = ImageDraw.Draw(img)
    width, height = MARKER_SIZE
    draw.rectangle((0, 0, MARKER_BLOCK - 1, MARKER_BLOCK - 1), fill=RED)
    draw.rectangle((width - MARKER_BLOCK, height - MARKER_BLOCK, width - 1, height - 1), fill=BLUE)
    return img


def exif_with(orientation: int | None = None, *, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (36.0, 40.0, 12.5),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (117.0, 1.0, 30.25),
        }
    return exif


def oriented_jpeg(orientation: int) -> bytes:
    """The marker picture as a camera would store it with this EXIF orientation."""
    stored = marker_image()
    if STORED_FOR_ORIENTATION[orientation] is not None:
        stored = stored.transpose(STORED_FOR_ORIENTATION[orientation])
    return encode(stored, "JPEG", quality=95, exif=exif_with(orientation).tobytes())


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15f16(*values: float) -> bytes:
    return b"".join(struct.pack(">i", round(value * 65536)) for value in values)


def linear_rgb_profile() -> bytes:
    """An ICC v2 display profile with sRGB primaries but gamma 1.0 (linear light).

    Built by hand because ImageCms can only create sRGB, LAB and XYZ profiles.
    A pixel value of 128 in it is half the light, which sRGB encodes as 188.
    """
    description = b"Linear RGB (qmonth test)\x00"
    # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts.
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(description)) + description
    desc += b"\x00" * (4 + 4 + 2 + 1 + 67)
    tags = {
        b"desc": desc,
        b"wtpt": b"XYZ \x00\x00\x00\x00" + _s15f16(0.9642, 1.0, 0.8249),
        # sRGB primaries adapted to D50, as ICC profiles store them.
        b"rXYZ": b"XYZ \x00\x00\x00\x00" + _s15f16(0.4361, 0.2225, 0.0139),
        b"gXYZ": b"XYZ \x00\x00\x00\x00" + _s15f16(0.3851, 0.7169, 0.0971),
        b"bXYZ": b"XYZ \x00\x00\x00\x00" + _s15f16(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0100) + b"\x00\x00",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags.items():
        data += b"\x00" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_size + len(body)
    header = b"".join(
        [
            struct.pack(">I", size),
            b"lcms",
            struct.pack(">I", 0x02100000),  # version 2.1
            b"mntr",  # display device
            b"RGB ",
            b"XYZ ",  # profile connection space
            b"\x00" * 12,  # date
            b"acsp",
            b"\x00" * 28,  # platform, flags, device, attributes, intent
            _s15f16(0.9642, 1.0, 0.8249),  # D50 illuminant
            b"\x00" * 48,
        ]
    )
    assert len(header) == 128
    return header + table + body


def jpeg_with_private_metadata(width: int = 640, height: int = 480) -> bytes:
    """A phone photo carrying GPS EXIF, XMP, a comment and an ICC profile."""
    return encode(
        photo_like(width, height),
        "JPEG",
        quality=90,
        exif=exif_with(6, gps=True).tobytes(),
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">site secret</x:xmpmeta>',
        comment=b"taken at the director's home",
        icc_profile=srgb_profile(),
    )


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes (0xE1 = APP1, 0xFE = COM ...) of a JPEG up to its image data."""
    assert data[:2] == b"\xff\xd8"
    markers = []
    position = 2
    while position < len(data):
        assert data[position] == 0xFF, f"not a marker at {position}"
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return markers


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A tiny real JPEG whose frame header is patched to claim width x height."""
    data = bytearray(encode(Image.new("RGB", (16, 16), GREY), "JPEG"))
    position = 2
    while True:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in (0xC0, 0xC1, 0xC2):
            # FF Cn, length, precision, then height and width.
            struct.pack_into(">HH", data, position + 5, height, width)
            return bytes(data)
        position += 2 + length


def gif_with_frames(count: int) -> bytes:
    """An animated GIF of count 1x1 frames, written by hand in a few ms."""
    header = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + b"\xff\xff\xff\x00\x00\x00"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"!\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
        + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00"  # image descriptor 1x1
        + b"\x02\x02D\x01\x00"  # LZW data for one pixel
    )
    return header + loop + frame * count + b";"


def oversized_jpeg(total_bytes: int) -> bytes:
    """A JPEG signature followed by filler up to total_bytes."""
    head = encode(Image.new("RGB", (8, 8), GREY), "JPEG")[:-2]
    return head + b"\x00" * (total_bytes - len(head))


def cmyk_jpeg(size: tuple[int, int] = (200, 100)) -> bytes:
    """Pure cyan on the left half, pure yellow on the right, in CMYK."""
    img = Image.new("CMYK", size, (255, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(0, 0, 255, 0))
    return encode(img, "JPEG", quality=95)


def transparent_png(size: tuple[int, int] = (100, 100)) -> bytes:
    """Fully transparent except an opaque red square in the middle."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((40, 40, 59, 59), fill=RED + (255,))
    return encode(img, "PNG")


def palette_png_with_transparency() -> bytes:
    img = Image.new("P", (60, 60), 0)
    img.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    ImageDraw.Draw(img).rectangle((20, 20, 39, 39), fill=1)
    return encode(img, "PNG", transparency=0)


def sixteen_bit_grey_png() -> bytes:
    """A 16-bit greyscale PNG at 3/4 of full scale everywhere."""
    return encode(Image.new("I;16", (50, 40), 49152), "PNG")


def webp(size: tuple[int, int] = (800, 600)) -> bytes:
    return encode(photo_like(*size), "WEBP", quality=80)


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, BLUE, GREY)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def heic(size: tuple[int, int] = (640, 480)) -> bytes:
    """An iPhone-like HEIC carrying GPS EXIF."""
    return encode(photo_like(*size), "HEIF", quality=80, exif=exif_with(gps=True).tobytes())


def oriented_heic(orientation: int) -> bytes:
    """The marker picture stored as HEIC with this EXIF orientation."""
    stored = marker_image()
    if STORED_FOR_ORIENTATION[orientation] is not None:
        stored = stored.transpose(STORED_FOR_ORIENTATION[orientation])
    return encode(stored, "HEIF", quality=90, exif=exif_with(orientation).tobytes())


class CountingStream(io.RawIOBase):
    """An endless upload of zero bytes after a JPEG signature; counts what is read."""

    def __init__(self) -> None:
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        view[:] = b"\x00" * len(view)
        if self.bytes_read == 0 and len(view) >= 3:
            view[:3] = b"\xff\xd8\xff"
        self.bytes_read += len(view)
        return len(view)
