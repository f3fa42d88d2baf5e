"""The server-side photo pipeline: what is refused, and what is kept of the rest."""
from __future__ import annotations

import hashlib
import io
import random
import time
import warnings

import pytest
from PIL import Image, ImageDraw, ImageFile, JpegImagePlugin

from qmonth.photos.processing import (
    PhotoRejected,
    ProcessedPhoto,
    process_photo,
    sniff_image_type,
)
from tests import photo_samples as samples

NOT_IMAGE = "文件不是有效的图片（JPEG、PNG、WebP 或 HEIC）。"
EMPTY = "文件为空，请重新选择照片。"
CORRUPT = "图片文件已损坏或不完整，无法读取。"
TOO_LARGE = "文件过大：单张照片不能超过 20 MB。"
TOO_MANY_PIXELS = "图片尺寸过大：像素总数不能超过 5000 万。"

# Generous: a refusal that decodes nothing takes a few milliseconds, decoding
# the pixels these files declare would take seconds and gigabytes.
FAST_SECONDS = 1.0


def refusal(data: bytes, name: str = "photo.jpg", **limits) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(samples.named_stream(data, name), **limits)
    return caught.value


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def outputs(photo: ProcessedPhoto) -> dict[str, bytes]:
    return {"screen": photo.screen, "print": photo.print, "thumb": photo.thumb}


def close_to(actual, expected, tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.fixture
def decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every image whose pixel data Pillow decodes during the test."""
    sizes = []
    real_load = ImageFile.ImageFile.load

    def recording_load(self):
        sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return sizes


# What is refused, and what the reporter is told.


def test_html_page_named_jpg_is_refused():
    rejected = refusal(samples.HTML_PAGE, "现场照片.jpg")
    assert rejected.message == NOT_IMAGE
    assert rejected.reason == "not_image"


def test_svg_is_refused():
    assert refusal(samples.SVG_IMAGE, "photo.jpg").message == NOT_IMAGE


def test_html_behind_a_jpeg_signature_is_refused():
    assert refusal(b"\xff\xd8\xff\xe0" + samples.HTML_PAGE).message == CORRUPT


def test_gif_with_ten_thousand_frames_is_refused_fast():
    gif = samples.gif_with_frames(10_000)
    started = time.perf_counter()
    rejected = refusal(gif, "photo.jpg")
    assert time.perf_counter() - started < FAST_SECONDS
    assert rejected.message == NOT_IMAGE


def test_empty_file_is_refused():
    rejected = refusal(b"")
    assert rejected.message == EMPTY
    assert rejected.reason == "empty"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(samples.encode(samples.photo_like(400, 300), "JPEG"), id="jpeg"),
        pytest.param(samples.encode(samples.photo_like(400, 300), "PNG"), id="png"),
        pytest.param(samples.webp((400, 300)), id="webp"),
        pytest.param(samples.heic((400, 300)), id="heic"),
    ],
)
def test_truncated_photo_is_refused(data):
    rejected = refusal(data[: len(data) // 2])
    assert rejected.message == CORRUPT
    assert rejected.reason == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(samples.encode(samples.photo_like(400, 300), "JPEG"), id="jpeg"),
        pytest.param(
            samples.encode(samples.photo_like(400, 300), "JPEG", progressive=True), id="progressive"
        ),
        pytest.param(samples.encode(samples.photo_like(400, 300), "PNG"), id="png"),
        pytest.param(samples.webp((400, 300)), id="webp"),
        pytest.param(samples.heic((400, 300)), id="heic"),
    ],
)
def test_upload_cut_short_is_refused_even_when_pillow_accepts_truncated_images(data, monkeypatch):
    # WeasyPrint turns this on for the whole process as soon as the reports import it.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for kept in (0.1, 0.5, 0.9, 0.99):
        assert refusal(data[: int(len(data) * kept)]).message == CORRUPT, kept
    assert process_photo(io.BytesIO(data)).source_format  # the whole file is fine


def test_file_over_twenty_megabytes_is_refused():
    rejected = refusal(samples.oversized_jpeg(21 * 1024 * 1024))
    assert rejected.message == TOO_LARGE
    assert rejected.reason == "too_large"


def test_size_limit_in_the_message_follows_the_setting():
    rejected = refusal(samples.oversized_jpeg(6 * 1024 * 1024), max_bytes=5 * 1024 * 1024)
    assert rejected.message == "文件过大：单张照片不能超过 5 MB。"


def test_endless_upload_is_read_only_one_byte_past_the_limit():
    stream = samples.CountingStream()
    with pytest.raises(PhotoRejected):
        process_photo(stream, max_bytes=1024 * 1024)
    assert stream.bytes_read == 1024 * 1024 + 1


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(samples.png_declaring(30_000, 30_000), id="png-30000x30000"),
        pytest.param(samples.jpeg_declaring(65_500, 65_500), id="jpeg-65500x65500"),
    ],
)
def test_decompression_bomb_is_refused_without_decoding(bomb, decoded_sizes):
    assert len(bomb) < 2048
    started = time.perf_counter()
    rejected = refusal(bomb)
    assert time.perf_counter() - started < FAST_SECONDS
    assert rejected.message == TOO_MANY_PIXELS
    assert rejected.reason == "too_many_pixels"
    assert decoded_sizes == []


@pytest.mark.parametrize(
    "bomb, declared",
    [
        (samples.png_declaring(30_000, 30_000), (30_000, 30_000)),
        (samples.jpeg_declaring(65_500, 65_500), (65_500, 65_500)),
    ],
)
def test_bomb_is_refused_even_when_pillows_own_limit_is_off(
    bomb, declared, monkeypatch, decoded_sizes
):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert Image.open(io.BytesIO(bomb)).size == declared
    assert refusal(bomb).message == TOO_MANY_PIXELS
    assert decoded_sizes == []


def test_image_over_our_pixel_limit_but_under_pillows_is_refused(decoded_sizes):
    assert 8000 * 8000 < Image.MAX_IMAGE_PIXELS
    assert refusal(samples.png_declaring(8000, 8000)).message == TOO_MANY_PIXELS
    assert decoded_sizes == []


@pytest.mark.parametrize("warning_filter", ["error", "ignore", "default"])
def test_pillows_bomb_warning_never_escapes_as_anything_else(warning_filter):
    # 10000 x 10000 lies between Pillow's warning and error thresholds.
    bomb = samples.png_declaring(10_000, 10_000)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter(warning_filter)
        assert refusal(bomb).message == TOO_MANY_PIXELS


def test_pixel_limit_in_the_message_follows_the_setting():
    rejected = refusal(samples.png_declaring(2000, 2000), max_pixels=3_000_000)
    assert rejected.message == "图片尺寸过大：像素总数不能超过 300 万。"


def test_rejection_is_a_value_error_carrying_its_message():
    rejected = refusal(samples.SVG_IMAGE)
    assert isinstance(rejected, ValueError)
    assert str(rejected) == NOT_IMAGE


@pytest.mark.parametrize("load_truncated", [False, True])
def test_damaged_photos_are_either_processed_or_refused_never_crash(load_truncated, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", load_truncated)
    rng = random.Random(20240901)
    originals = [
        samples.encode(samples.photo_like(160, 120), "JPEG", quality=85, progressive=True),
        samples.encode(samples.photo_like(160, 120), "PNG"),
        samples.webp((160, 120)),
        samples.heic((160, 120)),
        samples.transparent_png((40, 40)),
    ]
    for original in originals:
        for _ in range(40):
            damaged = bytearray(original)
            if rng.random() < 0.5:
                del damaged[rng.randrange(8, len(damaged)) :]
            else:
                for _ in range(rng.randrange(1, 8)):
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            try:
                process_photo(io.BytesIO(bytes(damaged)))
            except PhotoRejected:
                pass


# What is kept: upright, clean, bounded JPEG copies.


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation):
    photo = process_photo(io.BytesIO(samples.oriented_jpeg(orientation)))
    assert (photo.width, photo.height) == samples.MARKER_SIZE
    for name, data in outputs(photo).items():
        img = opened(data)
        width, height = img.size
        assert img.size == samples.MARKER_SIZE, name
        assert close_to(img.getpixel((8, 8)), samples.RED), name
        assert close_to(img.getpixel((width - 9, height - 9)), samples.BLUE), name
        assert close_to(img.getpixel((width - 9, 8)), samples.GREY), name
        assert close_to(img.getpixel((8, height - 9)), samples.GREY), name


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_orientation_comes_out_upright(orientation):
    photo = process_photo(io.BytesIO(samples.oriented_heic(orientation)))
    img = opened(photo.print)
    width, height = img.size
    assert img.size == samples.MARKER_SIZE
    assert close_to(img.getpixel((8, 8)), samples.RED, tolerance=40)
    assert close_to(img.getpixel((width - 9, height - 9)), samples.BLUE, tolerance=40)


def test_gps_and_all_other_metadata_are_stripped():
    source = samples.jpeg_with_private_metadata()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)  # GPS is really there

    photo = process_photo(io.BytesIO(source))

    for name, data in outputs(photo).items():
        img = opened(data)
        assert not img.getexif(), name
        assert not {"exif", "xmp", "icc_profile", "comment"} & img.info.keys(), name
        # Only JFIF, tables, frame and scan headers: no APP1 (EXIF/XMP), APP2 (ICC), COM.
        assert set(samples.jpeg_markers(data)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDA}, name
        assert b"Exif\x00\x00" not in data, name
        assert b"site secret" not in data and b"director" not in data, name


def test_heic_is_accepted_without_its_metadata():
    photo = process_photo(samples.named_stream(samples.heic((640, 480)), "IMG_0001.HEIC"))
    assert photo.source_format == "HEIF"
    assert (photo.width, photo.height) == (640, 480)
    img = opened(photo.print)
    assert img.format == "JPEG"
    assert img.size == (640, 480)
    assert not img.getexif()


def test_photo_is_judged_by_its_content_not_its_name():
    jpeg = samples.encode(samples.photo_like(320, 240), "JPEG")
    photo = process_photo(samples.named_stream(jpeg, "scan.png"))
    assert photo.source_format == "JPEG"


def test_three_copies_have_their_sizes_and_encoding():
    source = samples.encode(samples.photo_like(3000, 2000), "PNG", compress_level=1)
    photo = process_photo(io.BytesIO(source))
    assert (photo.width, photo.height) == (3000, 2000)
    assert photo.source_format == "PNG"
    expected = {"print": (1600, 1067), "screen": (1280, 853), "thumb": (400, 267)}
    for name, data in outputs(photo).items():
        img = opened(data)
        assert img.format == "JPEG" and img.mode == "RGB", name
        assert img.size == expected[name], name
        # Baseline: progressive took 2.5 times as long to encode for 1.5 % fewer bytes.
        assert not img.info.get("progressive"), name
        assert JpegImagePlugin.get_sampling(img) == 2, name  # 4:2:0
    assert len(photo.thumb) < len(photo.screen) < len(photo.print)


def test_small_photo_is_never_upscaled():
    photo = process_photo(io.BytesIO(samples.encode(samples.photo_like(300, 200), "JPEG")))
    for name, data in outputs(photo).items():
        assert opened(data).size == (300, 200), name


def test_portrait_photo_keeps_its_long_side_limits():
    photo = process_photo(io.BytesIO(samples.encode(samples.photo_like(1500, 2500), "JPEG")))
    assert opened(photo.print).size == (960, 1600)
    assert opened(photo.screen).size == (768, 1280)
    assert opened(photo.thumb).size == (240, 400)


def test_twelve_megapixel_phone_jpeg_is_decoded_at_reduced_scale(decoded_sizes):
    source = samples.encode(
        samples.photo_like(4000, 3000),
        "JPEG",
        quality=92,
        exif=samples.exif_with(6, gps=True).tobytes(),
    )
    photo = process_photo(io.BytesIO(source))
    assert (photo.width, photo.height) == (3000, 4000)
    assert opened(photo.print).size == (1200, 1600)
    assert opened(photo.screen).size == (960, 1280)
    assert opened(photo.thumb).size == (300, 400)
    # libjpeg scaled by 1/2 while decoding: 2000 x 1500 pixels, not 12 million.
    assert decoded_sizes[0] == (2000, 1500)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_twelve_megapixel_phone_jpeg_turned_by_exif_comes_out_upright(orientation, decoded_sizes):
    # Red block top left and blue bottom right of the upright 3000 x 4000 picture,
    # stored as the camera would: sideways (6, 8) or upside down (3).
    upright = Image.new("RGB", (3000, 4000), samples.GREY)
    draw = ImageDraw.Draw(upright)
    draw.rectangle((0, 0, 599, 599), fill=samples.RED)
    draw.rectangle((2400, 3400, 2999, 3999), fill=samples.BLUE)
    stored = upright.transpose(samples.STORED_FOR_ORIENTATION[orientation])
    source = samples.encode(stored, "JPEG", quality=90, exif=samples.exif_with(orientation).tobytes())
    photo = process_photo(io.BytesIO(source))
    assert decoded_sizes[0] == (stored.width // 2, stored.height // 2)  # decoded at half scale
    assert (photo.width, photo.height) == (3000, 4000)
    expected = {"print": (1200, 1600), "screen": (960, 1280), "thumb": (300, 400)}
    for name, data in outputs(photo).items():
        img = opened(data)
        assert img.size == expected[name], name
        near, far_x, far_y = img.width // 20, img.width - 1 - img.width // 20, img.height - 1 - img.width // 20
        assert close_to(img.getpixel((near, near)), samples.RED), name
        assert close_to(img.getpixel((far_x, far_y)), samples.BLUE), name
        assert close_to(img.getpixel((far_x, near)), samples.GREY), name
        assert close_to(img.getpixel((near, far_y)), samples.GREY), name


def test_cmyk_jpeg_is_accepted_as_rgb():
    photo = process_photo(io.BytesIO(samples.cmyk_jpeg((200, 100))))
    img = opened(photo.print)
    assert img.mode == "RGB"
    assert close_to(img.getpixel((40, 50)), (0, 255, 255), tolerance=40)  # cyan
    assert close_to(img.getpixel((160, 50)), (255, 255, 0), tolerance=40)  # yellow


def test_png_transparency_is_composited_on_white():
    img = opened(process_photo(io.BytesIO(samples.transparent_png())).print)
    assert img.mode == "RGB"
    assert close_to(img.getpixel((5, 5)), (255, 255, 255), tolerance=4)
    assert close_to(img.getpixel((50, 50)), samples.RED)


def test_palette_png_transparency_is_composited_on_white():
    img = opened(process_photo(io.BytesIO(samples.palette_png_with_transparency())).print)
    assert close_to(img.getpixel((5, 5)), (255, 255, 255), tolerance=4)
    assert close_to(img.getpixel((30, 30)), samples.RED)


def test_sixteen_bit_png_is_scaled_not_clipped():
    img = opened(process_photo(io.BytesIO(samples.sixteen_bit_grey_png())).print)
    assert close_to(img.getpixel((25, 20)), (192, 192, 192), tolerance=3)


def test_webp_is_accepted():
    photo = process_photo(samples.named_stream(samples.webp((800, 600)), "photo.webp"))
    assert photo.source_format == "WEBP"
    assert opened(photo.print).size == (800, 600)


def test_animated_webp_keeps_its_first_frame():
    img = opened(process_photo(io.BytesIO(samples.animated_webp())).print)
    assert close_to(img.getpixel((32, 24)), samples.RED, tolerance=30)


def test_mpo_from_a_phone_counts_as_jpeg():
    first = samples.photo_like(640, 480)
    second = Image.new("RGB", (640, 480), samples.BLUE)
    mpo = samples.encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    photo = process_photo(io.BytesIO(mpo))
    assert photo.source_format == "JPEG"
    assert not close_to(opened(photo.print).getpixel((320, 240)), samples.BLUE, tolerance=8)


def test_embedded_colour_profile_is_converted_to_srgb_and_dropped():
    # 128 in a linear-light profile is half the light, which sRGB writes as 188.
    source = samples.encode(
        Image.new("RGB", (64, 64), (128, 128, 128)),
        "JPEG",
        quality=95,
        icc_profile=samples.linear_rgb_profile(),
    )
    img = opened(process_photo(io.BytesIO(source)).print)
    assert "icc_profile" not in img.info
    assert close_to(img.getpixel((32, 32)), (188, 188, 188), tolerance=3)


def test_srgb_profile_is_dropped_without_changing_colours():
    source = samples.encode(
        Image.new("RGB", (64, 64), (200, 120, 40)), "JPEG", icc_profile=samples.srgb_profile()
    )
    img = opened(process_photo(io.BytesIO(source)).print)
    assert "icc_profile" not in img.info
    assert close_to(img.getpixel((32, 32)), (200, 120, 40), tolerance=6)


def test_broken_colour_profile_does_not_refuse_the_photo():
    source = samples.encode(
        Image.new("RGB", (64, 64), (200, 120, 40)), "JPEG", icc_profile=b"not a profile" * 20
    )
    img = opened(process_photo(io.BytesIO(source)).print)
    assert "icc_profile" not in img.info
    assert close_to(img.getpixel((32, 32)), (200, 120, 40), tolerance=6)


def test_same_photo_gives_the_same_bytes_and_hash():
    source = samples.jpeg_with_private_metadata()
    first = process_photo(io.BytesIO(source))
    second = process_photo(io.BytesIO(source))
    assert first == second
    assert first.sha256 == hashlib.sha256(first.print).hexdigest()


# Sniffing by magic bytes.


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"\xff\xd8\xff\xe1\x1c\x2aExif\x00\x00", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix", "HEIF"),
        (b"\x00\x00\x00\x18ftyphevc\x00\x00\x00\x00msf1hevc", "HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x10ftypmsf1\x00\x00\x00\x00", "HEIF"),
        (b"\x00\x00\x00\x10ftypheif\x00\x00\x00\x00", "HEIF"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", None),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # MP4 video
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", None),  # QuickTime
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"BM6\x00\x00\x00\x00\x00", None),
        (b"II*\x00\x08\x00\x00\x00", None),  # TIFF
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"%PDF-1.7\n", None),
        (b"<svg xmlns=", None),
        (b"<!DOCTYPE html>", None),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_sniff_image_type_by_magic_bytes(head, expected):
    assert sniff_image_type(head) == expected


def test_sniff_recognises_real_heic_and_webp_files():
    assert sniff_image_type(samples.heic((64, 64))[:64]) == "HEIF"
    assert sniff_image_type(samples.webp((64, 64))[:64]) == "WEBP"
