"""Load a campaign file (TOML) into the database: all of it, or nothing.

Loading the same file twice changes nothing; loading an edited file updates
the campaign in place, matched by `slug` (groups, tasks and slogans by number,
kinds and units by code). The units are the live tree: a past campaign's file
(its tree kept in campaign_unit) updates its catalogue and leaves them alone.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import Activity, ActivityKind, Campaign, Department, Slogan, Task, TaskGroup, Unit
from ..parsing import INT_MAX, year_window
from ..textnorm import control_character_problem
from ..units import added_phrase, city_changed_phrase, place_under, reads_own_tree, renamed_phrase

FIGURE_TYPES = {"int", "text", "choice", "multi", "slogans"}
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
UNIT_CODE_PATTERN = re.compile(r"^[a-z]+-(zj|cg|sw|yl|jt)$")
# The code migration d1e5a7c0b915 gave the root of an upgraded instance whose issuer it did not
# know (not the 2024 file's): the first campaign file loaded gives the root its real code.
UPGRADED_ROOT_CODE = "issuer"
ROOT_CITY = "省直"  # the root's "city" in lists and filters: the issuing department itself
ISSUER_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
YEAR_MIN, YEAR_MAX = 2000, 2100
# Where each table's texts are stored: a text longer than its column is refused here,
# as PostgreSQL would refuse it (SQLite would keep it whole).
TABLE_MODELS = {"campaign": Campaign, "groups": TaskGroup, "tasks": Task, "slogans": Slogan,
                "kinds": ActivityKind, "units": Unit, "issuer_actions": Activity}


class CampaignFileError(ValueError):
    """A campaign file that cannot be loaded; the message names the line."""


@dataclass
class LoadResult:
    campaign: Campaign
    created: bool
    changed: bool
    # How the file's units differ from the live ones, when they were held on the campaign because
    # another campaign is running on them (see load_campaign): Chinese phrases.
    units_held: list[str] = field(default_factory=list)


class _Locator:
    """Finds the line of a table or key in the raw text, for error messages.

    tomllib gives no positions, so we count `[[name]]` headers in order.
    """

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def table(self, header: str, index: int = 0) -> int | None:
        seen = -1
        pattern = re.compile(r"^\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*(#.*)?$")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                seen += 1
                if seen == index:
                    return number
        return None

    def key(self, header: str, index: int, key: str) -> int | None:
        start = self.table(header, index)
        if start is None:
            return None
        key_pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for number in range(start, len(self.lines)):
            line = self.lines[number]
            if line.lstrip().startswith("["):
                break
            if key_pattern.match(line):
                return number + 1
        return start


class _Checker:
    def __init__(self, locator: _Locator):
        self.locator = locator

    def fail(self, message: str, header: str, index: int = 0, key: str | None = None):
        line = self.locator.key(header, index, key) if key else self.locator.table(header, index)
        where = f"第 {line} 行：" if line else ""
        raise CampaignFileError(f"{where}{message}")

    def field(self, table: dict, key: str, kind, header: str, index: int = 0, required: bool = True):
        if key not in table:
            if required:
                self.fail(f"[{header}] 缺少字段 {key}", header, index)
            return None
        value = table[key]
        if kind is datetime and not (isinstance(value, datetime) and value.tzinfo is not None):
            self.fail(f"{key} 应为带时区的日期时间，例如 2024-10-10T23:59:59+08:00", header, index, key)
        if kind is date and (isinstance(value, datetime) or not isinstance(value, date)):
            self.fail(f"{key} 应为日期，例如 2024-09-01", header, index, key)
        if kind is str and (not isinstance(value, str) or not value.strip()):
            self.fail(f"{key} 应为非空文本", header, index, key)
        if kind is str:
            self.text(value, key, header, index)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(f"{key} 应为整数", header, index, key)
        if kind is int and not 0 <= value <= INT_MAX:  # every number lands in a PostgreSQL integer
            self.fail(f"{key} 应为 0 至 {INT_MAX} 之间的整数", header, index, key)
        if kind is list and not isinstance(value, list):
            self.fail(f"{key} 应为列表", header, index, key)
        return value

    def code(self, table: dict, header: str, index: int, seen: set[str], pattern, *, malformed: str,
             repeated: str) -> str:
        """The table's `code`: matching `pattern` and not `seen` before in its list (then added to it).
        The messages are formatted with the code."""
        code = self.field(table, "code", str, header, index)
        if not pattern.match(code):
            self.fail(malformed.format(code=code), header, index, "code")
        if code in seen:
            self.fail(repeated.format(code=code), header, index, "code")
        seen.add(code)
        return code

    def text(self, value: str, key: str, header: str, index: int = 0, column_name: str | None = None) -> None:
        """No control characters, and no longer than the column that will hold it."""
        problem = control_character_problem(value, multiline=True)
        if problem:
            self.fail(f"{key}：{problem}", header, index, key)
        model = TABLE_MODELS.get(header)
        column = model.__table__.columns.get(column_name or key) if model else None
        limit = getattr(column.type, "length", None) if column is not None else None
        if limit and len(value) > limit:
            self.fail(f"{key} 不能超过 {limit} 个字", header, index, key)


def read_campaign_file(path: str | Path) -> dict:
    """Parse and check a campaign file; raise CampaignFileError naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignFileError(f"找不到活动文件：{path}") from None
    except UnicodeDecodeError as error:
        raise CampaignFileError(f"活动文件不是 UTF-8 编码（字节位置 {error.start}）") from None
    return parse_campaign_text(text)


def parse_campaign_text(text: str) -> dict:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+), column (\d+)", str(error))
        where = f"第 {match.group(1)} 行第 {match.group(2)} 列：" if match else ""
        raise CampaignFileError(f"{where}TOML 格式错误（{error}）") from None
    _check(data, _Checker(_Locator(text)))
    return data


def _check(data: dict, check: _Checker) -> None:
    if "campaign" not in data:
        raise CampaignFileError("缺少 [campaign] 表")
    campaign = data["campaign"]
    for key in ("slug", "title", "theme", "issuer", "addressees", "report_addressee"):
        check.field(campaign, key, str, "campaign")
    check.field(campaign, "upward_addressee", str, "campaign", required=False)
    issuer_code = check.field(campaign, "issuer_code", str, "campaign")
    if not ISSUER_CODE_PATTERN.match(issuer_code) or len(issuer_code) > 40:
        check.fail(f"发文单位代码 {issuer_code!r} 应为小写拼音和连字符，如 shandong-zjt", "campaign", 0, "issuer_code")
    check.field(campaign, "year", int, "campaign")
    for key in ("starts_on", "ends_on", "issued_on"):
        check.field(campaign, key, date, "campaign")
    check.field(campaign, "report_due_at", datetime, "campaign")
    year = campaign["year"]
    if not YEAR_MIN <= year <= YEAR_MAX:
        check.fail(f"year 应在 {YEAR_MIN} 至 {YEAR_MAX} 之间", "campaign", 0, "year")
    # Every date of a campaign lies near its year (cloning adds a year to each of them).
    earliest, latest = year_window(year)
    for key in ("starts_on", "ends_on", "issued_on", "report_due_at"):
        day = campaign[key].date() if isinstance(campaign[key], datetime) else campaign[key]
        if not earliest <= day <= latest:
            check.fail(f"{key} 应在 {earliest:%Y-%m-%d} 至 {latest:%Y-%m-%d} 之间（活动年度前后一年）",
                       "campaign", 0, key)
    contact = campaign.get("contact", {})
    for key in ("phone", "email"):
        value = contact.get(key, "")
        if not isinstance(value, str):
            check.fail(f"contact.{key} 应为文本", "campaign.contact", 0, key)
        check.text(value, key, "campaign", column_name=f"contact_{key}")
    for person in contact.get("people", []):
        if not isinstance(person, str):
            check.fail("contact.people 应为文本列表", "campaign.contact", 0, "people")
        check.text(person, "people", "campaign.contact")
    if campaign["ends_on"] < campaign["starts_on"]:
        check.fail("ends_on 早于 starts_on", "campaign", 0, "ends_on")
    if campaign["report_due_at"].date() < campaign["ends_on"]:
        check.fail("总结报告截止时间早于活动结束日期", "campaign", 0, "report_due_at")

    for section in ("groups", "tasks", "kinds", "units", "slogans"):
        if not isinstance(data.get(section), list) or not data[section]:
            raise CampaignFileError(f"缺少 [[{section}]] 表")

    group_numbers = _unique_numbers(data["groups"], "groups", check)
    for index, group in enumerate(data["groups"]):
        check.field(group, "title", str, "groups", index)

    task_numbers = _unique_numbers(data["tasks"], "tasks", check)
    for index, task in enumerate(data["tasks"]):
        check.field(task, "title", str, "tasks", index)
        check.field(task, "text", str, "tasks", index)
        group = check.field(task, "group", int, "tasks", index)
        if group not in group_numbers:
            check.fail(f"任务所属分组 {group} 不存在", "tasks", index, "group")

    _unique_numbers(data["slogans"], "slogans", check)
    for index, slogan in enumerate(data["slogans"]):
        check.field(slogan, "text", str, "slogans", index)

    kind_codes: set[str] = set()
    figure_index = 0
    for index, kind in enumerate(data["kinds"]):
        check.code(kind, "kinds", index, kind_codes, CODE_PATTERN,
                   malformed="活动类型代码 {code!r} 只能使用小写字母、数字和下划线", repeated="活动类型代码 {code} 重复")
        check.field(kind, "name", str, "kinds", index)
        task = check.field(kind, "task", int, "kinds", index, required=False)
        if task is not None and task not in task_numbers:
            check.fail(f"活动类型对应的任务 {task} 不存在", "kinds", index, "task")
        figure_codes: set[str] = set()
        for figure in kind.get("figures", []):
            header = "kinds.figures"
            check.code(figure, header, figure_index, figure_codes, CODE_PATTERN,
                       malformed="指标代码 {code!r} 无效或重复", repeated="指标代码 {code!r} 无效或重复")
            check.field(figure, "label", str, header, figure_index)
            ftype = check.field(figure, "type", str, header, figure_index)
            if ftype not in FIGURE_TYPES:
                check.fail(
                    f"指标类型 {ftype!r} 无效，应为 {'、'.join(sorted(FIGURE_TYPES))} 之一",
                    header, figure_index, "type",
                )
            if ftype in ("choice", "multi"):
                choices = check.field(figure, "choices", list, header, figure_index)
                if not choices or not all(isinstance(c, str) and c.strip() for c in choices):
                    check.fail("choices 应为非空文本列表", header, figure_index, "choices")
                for choice in choices:
                    check.text(choice, "choices", header, figure_index)
            if isinstance(figure.get("unit"), str):
                check.text(figure["unit"], "unit", header, figure_index)
            if "rate_of" in figure:
                # a rate printed from summed figures: rate_label = rate_of's share (整改率 = 完成整改 / 发现问题)
                earlier = {f.get("code") for f in kind.get("figures", []) if f.get("type") == "int"}
                if ftype != "int" or figure.get("rate_of") not in earlier - {figure.get("code")}:
                    check.fail("rate_of 应为同一活动类型中另一个整数指标的代码", header, figure_index, "rate_of")
                label = check.field(figure, "rate_label", str, header, figure_index)
                check.text(label, "rate_label", header, figure_index)
            figure_index += 1

    kind_codes_known = {kind["code"] for kind in data["kinds"]}
    for index, action in enumerate(data.get("issuer_actions", [])):
        check.field(action, "title", str, "issuer_actions", index)
        kind = check.field(action, "kind", str, "issuer_actions", index)
        if kind not in kind_codes_known:
            check.fail(f"发文单位活动的类型 {kind!r} 不存在", "issuer_actions", index, "kind")
        task = check.field(action, "task", int, "issuer_actions", index, required=False)
        if task is not None and task not in task_numbers:
            check.fail(f"发文单位活动对应的任务 {task} 不存在", "issuer_actions", index, "task")

    unit_codes: set[str] = {issuer_code}
    departments = {d.value for d in Department}
    for index, unit in enumerate(data["units"]):
        code = check.code(unit, "units", index, unit_codes, UNIT_CODE_PATTERN,
                          malformed="单位代码 {code!r} 应为“城市拼音-部门”，如 jinan-zj", repeated="单位代码 {code} 重复")
        check.field(unit, "name", str, "units", index)
        check.field(unit, "city", str, "units", index)
        dept = check.field(unit, "dept", str, "units", index)
        if dept not in departments or not code.endswith("-" + dept):
            check.fail(f"部门 {dept!r} 无效或与单位代码不符", "units", index, "dept")


def _unique_numbers(items: list, header: str, check: _Checker) -> set[int]:
    numbers: set[int] = set()
    for index, item in enumerate(items):
        number = check.field(item, "number", int, header, index)
        if number in numbers:
            check.fail(f"编号 {number} 重复", header, index, "number")
        numbers.add(number)
    return numbers


def load_campaign(data: dict) -> LoadResult:
    """Write a checked campaign into the session (the caller commits)."""
    spec = data["campaign"]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == spec["slug"]))
    created = campaign is None
    if created:
        campaign = Campaign(slug=spec["slug"])
        db.session.add(campaign)
    contact = spec.get("contact", {})
    changed = _assign(campaign, {
        "year": spec["year"],
        "title": spec["title"],
        "theme": spec["theme"],
        "starts_on": spec["starts_on"],
        "ends_on": spec["ends_on"],
        "report_due_at": spec["report_due_at"],
        "issuer": spec["issuer"],
        "issued_on": spec["issued_on"],
        "addressees": spec["addressees"],
        "report_addressee": spec["report_addressee"],
        "upward_addressee": spec.get("upward_addressee", ""),
        "contact_people": list(contact.get("people", [])),
        "contact_phone": contact.get("phone", ""),
        "contact_email": contact.get("email", ""),
        "issuer_actions": [{"title": a["title"], "kind": a["kind"], "task": a.get("task")}
                           for a in data.get("issuer_actions", [])],
    })
    if created and db.session.scalar(select(Campaign).where(Campaign.is_active)) is None:
        campaign.is_active = True

    groups = _sync_children(campaign.groups, data["groups"], "number", TaskGroup,
                            lambda g: {"title": g["title"]})
    db.session.flush()
    by_number = {group.number: group for group in campaign.groups}
    changed |= groups
    changed |= _sync_children(campaign.tasks, data["tasks"], "number", Task, lambda t: {
        "title": t["title"], "text": t["text"], "group": by_number[t["group"]],
    })
    changed |= _sync_children(campaign.slogans, data["slogans"], "number", Slogan,
                              lambda s: {"text": s["text"]})
    positions = {kind["code"]: position for position, kind in enumerate(data["kinds"], start=1)}
    changed |= _sync_children(campaign.kinds, data["kinds"], "code", ActivityKind, lambda k: {
        "name": k["name"],
        "position": positions[k["code"]],
        "default_task_number": k.get("task"),
        "figures": [_figure(f) for f in k.get("figures", [])],
    })
    if not created and reads_own_tree(campaign.id):
        # A past campaign's tree is its own (campaign_unit); the live units are the active
        # campaign's, so loading last year's file again changes its catalogue only.
        db.session.flush()
        return LoadResult(campaign=campaign, created=created, changed=changed)
    root, root_changed = _sync_root(spec)
    changed |= root_changed
    if campaign.root_unit_id != root.id:
        campaign.root_unit_id = root.id
        changed = True
    if not campaign.is_active and db.session.scalar(select(Campaign.id).where(Campaign.is_active)):
        # Next year's file, loaded while this year's campaign runs on the live units: renaming or
        # adding a unit now would change this year's board, lists and reports mid-campaign. The
        # file's units wait on the campaign and are applied when it is made active.
        held = _unit_changes(data["units"])
        changed |= _assign(campaign, {"held_units": [_unit_spec(spec) for spec in data["units"]] if held else []})
        db.session.flush()
        return LoadResult(campaign=campaign, created=created, changed=changed or created, units_held=held)
    changed |= _assign(campaign, {"held_units": []})
    changed |= _sync_units(data["units"], root)
    db.session.flush()
    return LoadResult(campaign=campaign, created=created, changed=changed or created)


def _unit_spec(spec: dict) -> dict:
    return {"code": spec["code"], "name": spec["name"], "city": spec["city"], "dept": spec["dept"]}


def held_unit_changes(campaign: Campaign) -> list[str]:
    """What making the campaign active would change in the live units (see `apply_held_units`)."""
    return _unit_changes(campaign.held_units) if campaign.held_units else []


def apply_held_units(campaign: Campaign) -> list[str]:
    """Apply the units its file brought while another campaign was active, as the campaign becomes
    the active one (the caller has frozen the tree of the campaign it replaces): what changed."""
    specs = campaign.held_units or []
    if not specs or campaign.root_unit_id is None:
        return []
    changes = _unit_changes(specs)
    _sync_units(specs, db.session.get(Unit, campaign.root_unit_id))
    campaign.held_units = []
    db.session.flush()
    return changes


def _figure(spec: dict) -> dict:
    figure = {"code": spec["code"], "label": spec["label"], "type": spec["type"]}
    if spec.get("unit"):
        figure["unit"] = spec["unit"]
    if spec.get("rate_of"):
        figure["rate_of"], figure["rate_label"] = spec["rate_of"], spec["rate_label"]
    if spec.get("choices"):
        figure["choices"] = list(spec["choices"])
    return figure


def _assign(obj, values: dict) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _sync_children(existing: list, specs: list[dict], key: str, model, values_of) -> bool:
    """Update rows matched by `key`, add new ones, remove the ones the file dropped."""
    current = {getattr(row, key): row for row in existing}
    wanted = set()
    changed = False
    for spec in specs:
        wanted.add(spec[key])
        row = current.get(spec[key])
        if row is None:
            row = model(**{key: spec[key]})
            existing.append(row)
            changed = True
        changed |= _assign(row, values_of(spec))
    for stale_key, row in current.items():
        if stale_key not in wanted:
            existing.remove(row)
            changed = True
    return changed


def _sync_root(spec: dict) -> tuple[Unit, bool]:
    """The issuing department's unit, found by its code (made on the first load): the tree's root.

    One installation has one issuing department. A file naming another code would have made a
    second, empty root for its campaign, the bureaus staying under the first: refused instead.
    A root the tree migration could only give a neutral code takes the first file's code."""
    root = db.session.scalar(select(Unit).where(Unit.code == spec["issuer_code"]))
    other = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None), Unit.code != spec["issuer_code"])
                              .order_by(Unit.id).limit(1))
    if root is None and other is not None and other.code == UPGRADED_ROOT_CODE:
        other.code = spec["issuer_code"]
        return other, True
    if other is not None and (root is None or root.parent_id is not None):
        raise CampaignFileError(
            f"活动文件的发文单位代码（issuer_code）“{spec['issuer_code']}”与本系统的发文单位"
            f"“{other.name}”（代码 {other.code}）不一致。一个系统只有一个发文单位；如为同一单位，"
            f"请将 issuer_code 改为“{other.code}”。")
    created = root is None
    if created:
        root = Unit(code=spec["issuer_code"], name=spec["issuer"], city=ROOT_CITY, department=Department.ZJ, position=0)
        db.session.add(root)
        place_under(root, None)
    return root, created


def _sync_units(specs: list[dict], root: Unit) -> bool:
    """The addressees, as the root's children. A unit the tree screens moved elsewhere stays there."""
    current = {unit.code: unit for unit in db.session.scalars(select(Unit))}
    changed = False
    for position, spec in enumerate(specs, start=1):
        unit = current.get(spec["code"])
        if unit is None:
            unit = Unit(code=spec["code"])
            db.session.add(unit)
            changed = True
        changed |= _assign(unit, {
            "name": spec["name"], "city": spec["city"],
            "department": Department(spec["dept"]), "position": position,
        })
        if unit.parent_id is None and not unit.path:
            place_under(unit, root)
    return changed


def _unit_changes(specs: list[dict]) -> list[str]:
    """What `_sync_units` would change in the live units, in short Chinese phrases."""
    current = {unit.code: unit for unit in db.session.scalars(select(Unit))}
    changes = []
    for spec in specs:
        unit = current.get(spec["code"])
        if unit is None:
            changes.append(added_phrase(spec["name"]))
            continue
        if unit.name != spec["name"]:
            changes.append(renamed_phrase(unit.name, spec["name"]))
        if unit.city != spec["city"]:
            changes.append(city_changed_phrase(unit.name, unit.city, spec["city"]))
        if unit.department.value != spec["dept"]:
            changes.append(f"“{unit.name}”所属部门调整")
    return changes


def load_campaign_file(path: str | Path) -> LoadResult:
    """Check and load a file in one transaction; on any error nothing is written."""
    data = read_campaign_file(path)
    try:
        result = load_campaign(data)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
