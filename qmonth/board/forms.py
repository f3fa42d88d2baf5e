"""Forms of the board: reminders, the due date of the units below, and reopening a unit."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..models import Campaign
from ..parsing import DateError, iso_day, typed_day, year_window
from ..textnorm import CleanText
from ..timeutil import LOCAL_TZ
from .services import MESSAGE_MAX, REASON_MAX


HOUR_MINUTE = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")  # as <input type=time> sends it


def reopening_window(campaign: Campaign) -> tuple[date, date]:
    """Days a reopening may run to: from the campaign's year to the end of the next one."""
    return year_window(campaign.year, before=0)


def _normalised(text: str | None) -> str | None:
    """Browsers send a textarea's line breaks as CRLF: count them once, as the user sees them."""
    return text.replace("\r\n", "\n").strip() if isinstance(text, str) else text


class ReminderForm(FlaskForm):
    form_key = HiddenField()
    target = RadioField("催报对象", choices=[SelectChoice("selected", "所选单位"), SelectChoice("missing", "全部未报送总结报告的单位")],
                        default="selected")
    units = SelectMultipleField("单位", choices=[], validate_choice=False)
    message = TextAreaField("催报内容", filters=[_normalised], validators=[
        DataRequired("请填写催报内容。"), CleanText(multiline=True), Length(max=MESSAGE_MAX, message=f"催报内容不超过{MESSAGE_MAX}字。")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A new key each time the form is rendered fresh; only keys this form made are kept.
        if not re.fullmatch(r"[0-9a-f]{32}", self.form_key.data or ""):
            self.form_key.data = uuid.uuid4().hex

    def validate_target(self, field):
        if field.data not in ("selected", "missing"):
            raise ValidationError("请选择催报对象。")

    def validate_units(self, field):
        if self.target.data == "selected" and not field.data:
            raise ValidationError("请至少选择一个单位，或选择“全部未报送总结报告的单位”。")


class DueDateForm(FlaskForm):
    """A due date and time (Beijing time): the units below's due date, and the base of ReopenForm."""

    due_date = StringField("截止日期", validators=[DataRequired("请选择截止日期。")])
    due_time = StringField("时间", default="23:59")

    def __init__(self, campaign: Campaign, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign

    def validate_due_date(self, field):
        # A due date belongs to its campaign: by the end of the following year at the latest
        # (9999-12-31 once broke the unit's page, which adds a week to the due date).
        try:
            typed_day(field.data, "截止日期", *reopening_window(self.campaign))
        except DateError as error:
            raise ValidationError(str(error)) from None

    def validate_due_time(self, field):
        text = (field.data or "23:59").strip()
        try:
            if not HOUR_MINUTE.fullmatch(text):  # fromisoformat alone takes "2359", "23" and "23:59Z"
                raise ValueError(text)
            time.fromisoformat(text)
        except ValueError:
            raise ValidationError("时间格式不正确，例如 18:00。") from None

    def due_at(self) -> datetime:
        """The chosen moment, Beijing time, as an aware datetime."""
        day = iso_day(self.due_date.data.strip())
        moment = time.fromisoformat((self.due_time.data or "23:59").strip())
        if moment.second == 0 and moment.minute == 59 and moment.hour == 23:
            moment = time(23, 59, 59)  # "end of the day", as the campaign file writes it
        return datetime.combine(day, moment, LOCAL_TZ)


class ReopenForm(DueDateForm):
    due_date = StringField("新的截止日期", validators=[DataRequired("请选择新的截止日期。")])
    reason = TextAreaField("补报原因", filters=[_normalised], validators=[
        DataRequired("请填写补报原因。"), CleanText(multiline=True), Length(max=REASON_MAX, message=f"补报原因不超过{REASON_MAX}字。")])

    def validate_due_date(self, field):
        try:
            typed_day(field.data, "新的截止日期", *reopening_window(self.campaign))
        except DateError as error:
            raise ValidationError(str(error)) from None
