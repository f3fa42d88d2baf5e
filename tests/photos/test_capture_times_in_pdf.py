"""The unit's summary report prints each photo's capture and receipt times under it, and flags a
photo taken outside its activity's dates."""
from datetime import datetime, timezone

from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Photo

from tests.reports.support import pdf_text, squash
from tests.reports.test_reports import jinan, open_editor  # noqa: F401 (jinan is a fixture)


def test_pdf_captions_show_capture_and_receipt_times(client, login_as, jinan):  # noqa: F811
    training, inspection = jinan["training"], jinan["inspection"]  # both held on 10 September 2024
    on_time = db.session.scalar(select(Photo).where(Photo.activity_id == training.id))
    on_time.taken_at = datetime(2024, 9, 10, 2, 12, tzinfo=timezone.utc)
    on_time.received_at = datetime(2024, 9, 10, 2, 15, tzinfo=timezone.utc)
    early = db.session.scalar(select(Photo).where(Photo.activity_id == inspection.id))
    early.taken_at = datetime(2024, 8, 1, 1, 0, tzinfo=timezone.utc)
    early.received_at = datetime(2024, 9, 11, 1, 0, tzinfo=timezone.utc)
    db.session.commit()
    login_as("jinan-zj-admin")
    open_editor(client)
    text = squash(pdf_text(client.get("/reports/jinan-zj.pdf").get_data()))
    photo_pages = text[text.index("活动照片"):]  # 附件2: the photos side by side, captions below
    assert "建设工程质量安全讲堂：专家授课" in photo_pages
    assert "拍摄9月10日10:12·上传10:15" in photo_pages
    assert "拍摄8月1日09:00·上传9月11日09:00（拍摄日期不在活动日期内）" in photo_pages
