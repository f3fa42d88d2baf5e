"""Forms of the reports feature: a bulletin's title, lead and date, and the order of its items."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from ..models import Bulletin, Campaign
from ..parsing import DateError, positive_int, typed_day, year_window
from ..textnorm import CleanText
from .services import BULLETIN_LEAD_MAX, BULLETIN_TITLE_MAX


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if isinstance(text, str) else text


def _multiline(text: str | None) -> str | None:
    """Browsers send a textarea's line breaks as CRLF: count them once, as the user sees them."""
    return text.replace("\r\n", "\n").strip() if isinstance(text, str) else text


class BulletinForm(FlaskForm):
    """Title, lead and date of an issue; the items and their order come from `ordered_choice`."""

    title = StringField("标题", filters=[_one_line], validators=[
        CleanText(), Length(max=BULLETIN_TITLE_MAX, message=f"标题不超过{BULLETIN_TITLE_MAX}字。")])
    lead = TextAreaField("导语", filters=[_multiline], validators=[
        CleanText(multiline=True), Length(max=BULLETIN_LEAD_MAX, message=f"导语不超过{BULLETIN_LEAD_MAX}字。")])
    issued_on = StringField("日期")

    def __init__(self, campaign: Campaign, *args, **kwargs):
        self.campaign = campaign
        self.issued_day: date | None = None
        super().__init__(*args, **kwargs)

    @classmethod
    def of(cls, bulletin: Bulletin) -> BulletinForm:
        """The form filled from the issue as saved (nothing read from the request)."""
        return cls(bulletin.campaign, formdata=None, data={
            "title": bulletin.title, "lead": bulletin.lead,
            "issued_on": bulletin.issued_on.isoformat() if bulletin.issued_on else ""})

    def validate_issued_on(self, field):
        try:
            self.issued_day = typed_day(field.data, "日期", *year_window(self.campaign.year))
        except DateError as error:
            raise ValidationError(str(error)) from None


def ordered_choice(form: MultiDict, candidates: dict) -> list[int]:
    """The chosen items in the order of their position numbers, then the up/down/add/remove button."""
    positions = []
    for index, raw in enumerate(form.getlist("item")):
        activity_id = positive_int(raw)
        if activity_id is None:
            continue
        # The page's order boxes hold 1..999; anything else (nan, ٣, 1e400) keeps the item where it is.
        position = positive_int(form.get(f"position-{activity_id}"), 999) or index + 1
        positions.append((position, index, activity_id))
    chosen = [activity_id for _, _, activity_id in sorted(positions) if activity_id in candidates]
    op, _, target = form.get("op", "save").partition(":")
    target_id = positive_int(target)
    if op == "add" and target_id in candidates and target_id not in chosen:
        chosen.append(target_id)
    elif op == "remove" and target_id in chosen:
        chosen.remove(target_id)
    elif op in ("up", "down") and target_id in chosen:
        at = chosen.index(target_id)
        swap = at - 1 if op == "up" else at + 1
        if 0 <= swap < len(chosen):
            chosen[at], chosen[swap] = chosen[swap], chosen[at]
    return chosen
