"""The activity form: common fields, the declaration, and the chosen kind's figures."""
from __future__ import annotations

import re
import uuid
from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import (
    ADDRESS_MAX, CO_ORGANISERS_MAX, CONTACT_NAME_MAX, CONTACT_PHONE_MAX, COUNTY_MAX, DESCRIPTION_MAX,
    FIGURE_TEXT_MAX, ORGANISER_MAX, PARTICIPANTS_MAX, RESULTS_MAX, TITLE_MAX, ActivityKind, Campaign,
)
from ..parsing import NumberError, iso_day, positive_ints, typed_count
from ..textnorm import CleanText, control_character_problem, normalise_text
from .services import ActivityData


def _length(maximum: int, label: str):
    return Length(max=maximum, message=f"{label}不能超过 {maximum} 个字。")


def _filter(multiline: bool):
    # A field missing from the POST (a crafted or cut request) is empty text, not None:
    # the columns are NOT NULL, and None reached the database as a 500.
    return lambda value: normalise_text(value if isinstance(value, str) else "", multiline=multiline)


def text_field(label: str, maximum: int, *, multiline: bool = False, **kwargs):
    field_class = TextAreaField if multiline else StringField
    return field_class(
        label,
        filters=[_filter(multiline)],
        # Line breaks pass the check even in a one-line field: its filter turns them into
        # spaces first (a title pasted from a document), so they never reach the database.
        validators=[CleanText(multiline=True), _length(maximum, label)],
        **kwargs,
    )


class CountField(StringField):
    """A whole number >= 0, with Chinese messages; empty means 'not given'."""

    def __init__(self, label=None, maximum: int = PARTICIPANTS_MAX, **kwargs):
        super().__init__(label, **kwargs)
        self.maximum = maximum
        self.count: int | None = None

    def pre_validate(self, form):
        self.count = None
        try:
            self.count = typed_count(self.data, self.label.text, self.maximum)
        except NumberError as error:
            raise ValidationError(str(error)) from None


class ChineseDateField(StringField):
    """An <input type=date> value (YYYY-MM-DD) with a Chinese message when malformed."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {})["type"] = "date"
        super().__init__(label, **kwargs)
        self.date: date | None = None

    def pre_validate(self, form):
        raw = (self.data or "").strip()
        self.date = None
        if not raw:
            return
        try:
            self.date = iso_day(raw)  # the campaign window is checked by validate_<field>
        except ValueError:
            raise ValidationError(f"{self.label.text}格式不正确，应为“年-月-日”，如 2024-09-15。") from None


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        # Unknown values are dropped quietly by clean(); never a 500 on a crafted post.
        pass


class ActivityForm(FlaskForm):
    form_key = HiddenField()
    title = text_field("活动名称", TITLE_MAX)
    kind = SelectField("活动类型", validate_choice=False)
    tasks = CheckboxesField("重点任务", coerce=str)
    organiser = text_field("主办单位", ORGANISER_MAX)
    co_organisers = text_field("协办单位", CO_ORGANISERS_MAX)
    starts_on = ChineseDateField("开始日期")
    ends_on = ChineseDateField("结束日期")
    county = text_field("县（市、区）", COUNTY_MAX)
    address = text_field("详细地点", ADDRESS_MAX)
    participants = CountField("参与人次")
    description = text_field("活动内容", DESCRIPTION_MAX, multiline=True)
    results = text_field("活动成效", RESULTS_MAX, multiline=True)
    contact_name = text_field("联系人", CONTACT_NAME_MAX)
    contact_phone = text_field("联系电话", CONTACT_PHONE_MAX)
    no_fee_declared = BooleanField("本活动坚持自愿参与原则，未借活动名义向企业摊派收费、搭车收费。")
    # Re-login in place when the session expired while the user was typing.
    relogin_username = StringField("用户名")
    relogin_password = StringField("密码")

    def __init__(self, campaign: Campaign, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.kind.choices = [SelectChoice("", "请选择活动类型")] + [SelectChoice(k.code, k.name) for k in campaign.kinds]
        self.tasks.choices = [SelectChoice(str(t.number), f"{t.number}.{t.title}") for t in campaign.tasks]
        self.figure_values: dict = {}
        self.figure_errors: dict[str, str] = {}
        # Only keys this form made: a crafted one must not reach the 64-character column,
        # which PostgreSQL enforces (SQLite does not).
        if not re.fullmatch(r"[0-9a-f]{32}", self.form_key.data or ""):
            self.form_key.data = uuid.uuid4().hex

    @property
    def selected_kind(self) -> ActivityKind | None:
        return next((k for k in self.campaign.kinds if k.code == self.kind.data), None)

    def validate_title(self, field):
        if not field.data:
            raise ValidationError("请填写活动名称。")

    def validate_kind(self, field):
        if self.selected_kind is None:
            raise ValidationError("请选择活动类型。")

    def validate_tasks(self, field):
        if not self.chosen_tasks():
            raise ValidationError("请至少选择一项重点任务。")

    def validate_starts_on(self, field):
        self._check_in_window(field)

    def validate_ends_on(self, field):
        self._check_in_window(field)
        start, end = self.starts_on.date, field.date
        if start and end and end < start:
            raise ValidationError("结束日期不能早于开始日期。")

    def _check_in_window(self, field):
        day, c = field.date, self.campaign
        if day and not (c.starts_on <= day <= c.ends_on):
            raise ValidationError(
                f"{field.label.text}须在活动期间内（{c.starts_on:%Y-%m-%d} 至 {c.ends_on:%Y-%m-%d}）。"
            )

    def chosen_tasks(self):
        wanted = set(self.tasks.data or [])
        return [t for t in self.campaign.tasks if str(t.number) in wanted]

    def read_figures(self, formdata) -> None:
        """Parse the chosen kind's figure inputs (named fig_<code>) into values and errors."""
        self.figure_values, self.figure_errors = parse_figures(self.selected_kind, self.campaign, formdata)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return ok and not self.figure_errors

    def cleaned(self) -> ActivityData:
        return ActivityData(
            title=self.title.data,
            kind=self.selected_kind,
            tasks=self.chosen_tasks(),
            organiser=self.organiser.data,
            co_organisers=self.co_organisers.data,
            starts_on=self.starts_on.date,
            ends_on=self.ends_on.date,
            county=self.county.data,
            address=self.address.data,
            participants=self.participants.count,
            description=self.description.data,
            results=self.results.data,
            contact_name=self.contact_name.data,
            contact_phone=self.contact_phone.data,
            figures=self.figure_values,
            no_fee_declared=bool(self.no_fee_declared.data),
        )


def parse_figures(kind: ActivityKind | None, campaign: Campaign, formdata) -> tuple[dict, dict]:
    """Values for the kind's figures from fig_<code> inputs, and Chinese errors by code."""
    values: dict = {}
    errors: dict[str, str] = {}
    if kind is None or formdata is None:
        return values, errors
    for figure in kind.figures:
        name = f"fig_{figure['code']}"
        label = figure["label"]
        kind_of = figure["type"]
        if kind_of == "int":
            try:
                number = typed_count(formdata.get(name), label, PARTICIPANTS_MAX)
            except NumberError as error:
                errors[figure["code"]] = str(error)
            else:
                if number is not None:
                    values[figure["code"]] = number
        elif kind_of == "text":
            raw = formdata.get(name) or ""
            problem = control_character_problem(raw)
            text = normalise_text(raw)
            if problem:
                errors[figure["code"]] = problem
            elif len(text) > FIGURE_TEXT_MAX:
                errors[figure["code"]] = f"{label}不能超过 {FIGURE_TEXT_MAX} 个字。"
            elif text:
                values[figure["code"]] = text
        elif kind_of == "choice":
            raw = formdata.get(name) or ""
            if raw and raw not in figure.get("choices", []):
                errors[figure["code"]] = f"请从列表中选择{label}。"
            elif raw:
                values[figure["code"]] = raw
        elif kind_of == "multi":
            chosen = [c for c in figure.get("choices", []) if c in formdata.getlist(name)]
            if chosen:
                values[figure["code"]] = chosen
        elif kind_of == "slogans":
            numbers = {s.number for s in campaign.slogans}
            chosen = sorted(set(positive_ints(formdata.getlist(name))) & numbers)
            if chosen:
                values[figure["code"]] = chosen
    return values, errors


def form_from_activity(campaign: Campaign, activity) -> ActivityForm:
    """The edit form, filled from the stored entry."""
    form = ActivityForm(campaign, formdata=None, data={
        "title": activity.title,
        "kind": activity.kind.code,
        "tasks": [str(t.number) for t in activity.tasks],
        "organiser": activity.organiser,
        "co_organisers": activity.co_organisers,
        "starts_on": activity.starts_on.isoformat() if activity.starts_on else "",
        "ends_on": activity.ends_on.isoformat() if activity.ends_on else "",
        "county": activity.county,
        "address": activity.address,
        "participants": "" if activity.participants is None else str(activity.participants),
        "description": activity.description,
        "results": activity.results,
        "contact_name": activity.contact_name,
        "contact_phone": activity.contact_phone,
        "no_fee_declared": activity.no_fee_declared,
    })
    form.figure_values = dict(activity.figures or {})
    return form
