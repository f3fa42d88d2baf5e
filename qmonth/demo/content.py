"""The demo's content, read from a TOML data file: text and numbers only, no code."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEFAULT_CONTENT_FILE = Path(__file__).with_name("demo-2024.toml")


class DemoDataError(ValueError):
    """The data file or the database lacks what the demo needs."""


@dataclass(frozen=True)
class Department:
    """What a kind of bureau works on, in the words its reports use."""

    weight: float  # how many entries such a bureau registers, relatively
    field: str
    audience: str
    venues: tuple[str, ...]
    labs: tuple[str, ...]
    agency: str
    projects: tuple[str, ...]
    co_organisers: tuple[str, ...]
    standards: tuple[str, ...]


@dataclass(frozen=True)
class KindText:
    """How entries of one kind read: its verb, usual durations, participants and sentences."""

    weight: float
    verb: str
    days: tuple[int, ...]
    participants: tuple[int, int]
    summary: str
    results: tuple[str, ...]
    co_organisers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One kind of entry a bureau writes: its name, what was done, and where.

    `place` is "office" (a venue), "site" (a project), "lab" (a testing lab),
    "community", "field" (several projects) or "agency" (supervision agencies).
    `figures` fixes or narrows figures: a value, a [low, high] range of ints or a list
    of choices to sample. `summary`, `results` and `days` replace the kind's.
    """

    kind: str
    depts: tuple[str, ...]
    name: str
    content: str
    place: str = "office"
    verb: str = ""
    figures: dict = field(default_factory=dict)
    summary: str = ""
    results: tuple[str, ...] = ()
    days: tuple[int, ...] = ()


@dataclass(frozen=True)
class City:
    phone_prefix: str
    phone_digits: int
    counties: tuple[str, ...]


@dataclass(frozen=True)
class DemoContent:
    """Everything the demo's rows are made of."""

    seed: int
    password: str
    province_username: str
    province_name: str
    reporter_name: str  # "{unit}填报员"
    admin_name: str
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    final_states: dict[str, float]
    highlight_share: float
    resubmitted_share: float
    registered_ahead_share: float
    review_days_after_deadline: int
    roads: tuple[str, ...]
    estates: tuple[str, ...]
    phases: tuple[str, ...]
    communities: tuple[str, ...]
    national_roads: tuple[str, ...]
    cities: dict[str, City]
    departments: dict[str, Department]
    kinds: dict[str, KindText]
    figure_ranges: dict[str, tuple[int, int]]
    choice_weights: dict[str, dict[str, float]]
    surnames: str
    given_names: tuple[str, ...]
    mobile_prefixes: tuple[str, ...]
    closings: tuple[str, ...]
    planned: str  # the description of an entry not yet held
    in_progress: str  # … and of one still going on
    return_reasons: tuple[str, ...]
    related_tasks: dict[int, tuple[int, ...]]
    scenarios: tuple[Scenario, ...]
    reports: dict[str, str]  # summary report sections, by UnitReport column
    reopen_reasons: tuple[str, ...]
    report_outcomes: dict[str, float]  # on_time / late / missing


def load_content(path: Path | str = DEFAULT_CONTENT_FILE) -> DemoContent:
    """Read and check a demo data file; a missing or mistyped key is a DemoDataError naming it."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DemoDataError(f"{path}: {error}") from None
    try:
        return _content(data)
    except (KeyError, TypeError, ValueError) as error:
        raise DemoDataError(f"{path}: missing or malformed entry {error}") from None


def _content(data: dict) -> DemoContent:
    accounts, life, places, people, texts = (data["accounts"], data["life"], data["places"], data["people"],
                                             data["texts"])
    departments = {code: Department(
        weight=float(d["weight"]), field=d["field"], audience=d["audience"], venues=tuple(d["venues"]),
        labs=tuple(d["labs"]), agency=d["agency"], projects=tuple(d["projects"]),
        co_organisers=tuple(d["co_organisers"]), standards=tuple(d["standards"]),
    ) for code, d in data["departments"].items()}
    kinds = {code: KindText(
        weight=float(k["weight"]), verb=k["verb"], days=tuple(k["days"]), participants=tuple(k["participants"]),
        summary=k["summary"], results=tuple(k["results"]), co_organisers=tuple(k.get("co_organisers", ())),
    ) for code, k in data["kinds"].items()}
    scenarios = tuple(Scenario(
        kind=s["kind"], depts=tuple(s.get("depts", departments)), name=s["name"], content=s["content"],
        place=s.get("place", "office"), verb=s.get("verb", ""), figures=dict(s.get("figures", {})),
        summary=s.get("summary", ""), results=tuple(s.get("results", ())), days=tuple(s.get("days", ())),
    ) for s in data["scenarios"])
    unknown = {s.kind for s in scenarios} - set(kinds)
    if unknown:
        raise ValueError(f"scenarios of kinds without a [kinds] entry: {sorted(unknown)}")
    return DemoContent(
        seed=int(data.get("seed", 0)),
        password=accounts["password"],
        province_username=accounts["province"]["username"],
        province_name=accounts["province"]["display_name"],
        reporter_name=accounts["reporter_name"],
        admin_name=accounts["admin_name"],
        holidays=frozenset(date.fromisoformat(str(d)) for d in data["calendar"]["holidays"]),
        makeup_workdays=frozenset(date.fromisoformat(str(d)) for d in data["calendar"]["makeup_workdays"]),
        final_states={state: float(weight) for state, weight in life["final_states"].items()},
        highlight_share=float(life["highlight_share"]),
        resubmitted_share=float(life["resubmitted_share"]),
        registered_ahead_share=float(life["registered_ahead_share"]),
        review_days_after_deadline=int(life["review_days_after_deadline"]),
        roads=tuple(places["roads"]), estates=tuple(places["estates"]), phases=tuple(places["phases"]),
        communities=tuple(places["communities"]), national_roads=tuple(places["national_roads"]),
        cities={name: City(c["phone_prefix"], int(c["phone_digits"]), tuple(c["counties"]))
                for name, c in data["cities"].items()},
        departments=departments,
        kinds=kinds,
        figure_ranges={code: tuple(r) for code, r in data["figures"]["ranges"].items()},
        choice_weights=data["figures"].get("choice_weights", {}),
        surnames=people["surnames"], given_names=tuple(people["given_names"]),
        mobile_prefixes=tuple(people["mobile_prefixes"]),
        closings=tuple(texts["closings"]), return_reasons=tuple(texts["return_reasons"]),
        planned=texts["planned"], in_progress=texts["in_progress"],
        related_tasks={int(n): tuple(related) for n, related in texts.get("related_tasks", {}).items()},
        scenarios=scenarios,
        reports={column: text for column, text in data["reports"].items() if isinstance(text, str)},
        reopen_reasons=tuple(data["reports"]["reopen_reasons"]),
        report_outcomes={outcome: float(weight) for outcome, weight in data["reports"]["outcomes"].items()},
    )
