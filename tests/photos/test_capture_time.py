"""Reading capture times: EXIF strings from the original, what the browser sent, plausibility."""
from datetime import datetime, timedelta, timezone

import pytest

from qmonth.photos import capture_time
from qmonth.timeutil import LOCAL_TZ

NOW = datetime(2024, 9, 20, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, offset, expected", [
    ("2024:09:18 10:12:00", None, datetime(2024, 9, 18, 10, 12, tzinfo=LOCAL_TZ)),
    (b"2024:09:18 10:12:00\x00", b"+09:00", datetime(2024, 9, 18, 1, 12, tzinfo=timezone.utc)),
    ("2024:09:18 10:12:00", "-05:00", datetime(2024, 9, 18, 15, 12, tzinfo=timezone.utc)),
    ("2024:09:18 10:12:00", "+99:00", datetime(2024, 9, 18, 10, 12, tzinfo=LOCAL_TZ)),  # broken offset: Shanghai
    ("0000:00:00 00:00:00", None, None),
    ("2024:02:30 10:00:00", None, None),
    ("    :  :     :  :  ", None, None),
    (12345, None, None),
])
def test_exif_strings(value, offset, expected):
    assert capture_time.from_exif_strings(value, offset) == expected


@pytest.mark.parametrize("value, expected", [
    ("", None),
    ("0000:00:00 00:00:00", None),
    ("2024:09:18 10:12:00", datetime(2024, 9, 18, 2, 12, tzinfo=timezone.utc)),
    ("2024-09-18T10:12:00+08:00", datetime(2024, 9, 18, 2, 12, tzinfo=timezone.utc)),
    ("2024-09-18T02:12:00Z", datetime(2024, 9, 18, 2, 12, tzinfo=timezone.utc)),
])
def test_what_the_browser_sends(value, expected):
    assert capture_time.from_client(value) == expected


@pytest.mark.parametrize("value", ["2024-09-18", "2024-09-18T10:12", "2024-13-01T00:00:00+08:00", "2024:02:30 10:00:00",
                                   "上午十点", "x" * 41])
def test_unreadable_browser_values_are_refused_in_chinese(value):
    with pytest.raises(capture_time.BadCaptureTime, match="拍摄时间格式不正确"):
        capture_time.from_client(value)


def test_implausible_times_count_as_unknown():
    assert capture_time.plausible(datetime(1999, 12, 31, tzinfo=timezone.utc), now=NOW) is None
    assert capture_time.plausible(NOW + timedelta(days=3), now=NOW) is None
    assert capture_time.plausible(NOW + timedelta(days=1), now=NOW) == NOW + timedelta(days=1)
