"""Highlights for publicity: the gallery and the ZIP of exactly the highlighted photos."""
import csv
import io
import zipfile

import pytest

from qmonth.board.highlights import safe_name
from qmonth.extensions import db
from qmonth.models import ActivityState
from qmonth.photos.storage import photo_path

from tests.board.support import make_photo, without_activities


@pytest.fixture
def highlights(app, make_activity):
    without_activities()
    first = make_activity("jinan-zj", title="质量安全讲堂：见证检测", state=ActivityState.ACCEPTED, is_highlight=True)
    second = make_activity("heze-sw", title="水利工程“质量月”观摩", state=ActivityState.ACCEPTED, is_highlight=True)
    plain = make_activity("qingdao-zj", title="未推广的活动", state=ActivityState.ACCEPTED)
    submitted = make_activity("zibo-zj", title="待审核的活动", state=ActivityState.SUBMITTED)
    photos = {
        "first-1": make_photo(first, caption="专家授课", position=0, colour=(10, 120, 200)),
        "first-2": make_photo(first, caption="学员合影", position=1, is_cover=True, colour=(20, 200, 40)),
        "second-1": make_photo(second, caption="", position=0, colour=(220, 180, 0)),
        "plain": make_photo(plain, caption="不应出现"),
        "submitted": make_photo(submitted, caption="也不应出现"),
    }
    return first, second, photos


def test_the_zip_holds_exactly_the_highlighted_photos(client, login_as, highlights):
    first, second, photos = highlights
    login_as("province")
    response = client.get("/board/highlights.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    expected = {
        f"济南市住房和城乡建设局/{first.id}-质量安全讲堂：见证检测-1.jpg": photos["first-1"],
        f"济南市住房和城乡建设局/{first.id}-质量安全讲堂：见证检测-2.jpg": photos["first-2"],
        f"菏泽市水务局/{second.id}-水利工程“质量月”观摩-1.jpg": photos["second-1"],
    }
    assert set(archive.namelist()) == {*expected, "captions.csv"}
    for name, photo in expected.items():
        info = archive.getinfo(name)
        assert info.flag_bits & 0x800, "UTF-8 file name flag"
        assert archive.read(name) == photo_path(photo.storage_key, "print").read_bytes()

    captions = archive.read("captions.csv")
    assert captions.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(captions.decode("utf-8-sig"))))
    assert rows[0] == ["文件", "单位", "活动名称", "图片说明"]
    assert [f"济南市住房和城乡建设局/{first.id}-质量安全讲堂：见证检测-2.jpg", "济南市住房和城乡建设局",
            "质量安全讲堂：见证检测", "学员合影"] in rows
    assert len(rows) == 4


def test_names_are_safe_for_windows():
    assert safe_name('会议: "A/B" <总结>?*|') == "会议_ _A_B_ _总结____"
    assert safe_name("CON") == "_CON" and safe_name("结尾. ") == "结尾"
    assert len(safe_name("长" * 100)) == 40


def test_the_gallery_shows_covers_and_captions(client, login_as, highlights):
    first, second, photos = highlights
    login_as("province")
    page = client.get("/board/highlights").get_data(as_text=True)
    cover = photos["first-2"]
    assert f'src="/photos/{cover.id}/thumb.jpg?v={cover.sha256[:12]}"' in page
    assert "学员合影" in page and "水利工程“质量月”观摩" in page
    assert "未推广的活动" not in page and "待审核的活动" not in page
    assert "照片 3 张" in page
    thumb = client.get(f"/photos/{cover.id}/thumb.jpg?v={cover.sha256[:12]}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"


def test_highlights_are_for_the_province(client, login_as, highlights):
    login_as("jinan-zj")
    assert client.get("/board/highlights").status_code == 403
    assert client.get("/board/highlights.zip").status_code == 403


def test_an_empty_zip_still_has_its_captions_file(client, login_as):
    without_activities()
    login_as("province")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/board/highlights.zip").data))
    assert archive.namelist() == ["captions.csv"]
    db.session.rollback()


def test_captions_csv_makes_formulas_inert_like_the_other_exports(client, login_as, make_activity):
    without_activities()
    activity = make_activity("jinan-zj", title="-1+1 观摩", state=ActivityState.ACCEPTED, is_highlight=True)
    make_photo(activity, caption='=HYPERLINK("http://example.invalid","点击")')
    make_photo(activity, caption="@SUM(A1:A9)", position=1)
    login_as("province")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/board/highlights.zip").data))
    rows = list(csv.reader(io.StringIO(archive.read("captions.csv").decode("utf-8-sig"))))
    assert [row[2:] for row in rows[1:]] == [["'-1+1 观摩", "'=HYPERLINK(\"http://example.invalid\",\"点击\")"],
                                            ["'-1+1 观摩", "'@SUM(A1:A9)"]]
