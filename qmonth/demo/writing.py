"""How a demo entry reads: its place, figures, title and description, from the data file's text."""
from __future__ import annotations

import random
from datetime import date

from ..models import Unit
from .content import DemoContent, Department, KindText, Scenario


class Place:
    """Where an entry was held."""

    def __init__(self, county: str, address: str, venue: str, project: str, site: str):
        self.county = county
        # The pages print county and address together: an address never starts with the county.
        self.address = address.removeprefix(county)
        self.venue = venue  # the phrase after 在 in the description ("" when held in several places)
        self.project = project
        self.site = site  # where the project is, as site plans say: "历城区工业路以东、振兴路以北"


def place_of(rng: random.Random, content: DemoContent, unit: Unit, department: Department,
             scenario: Scenario) -> Place:
    """A real county of the unit's city and an address there that suits the scenario's kind of place."""
    county = rng.choice(content.cities[unit.city].counties)
    one_road, other_road = rng.sample(content.roads, 2)
    project = rng.choice(department.projects).format(
        county=county, estate=rng.choice(content.estates), phase=rng.choice(content.phases), road=one_road,
        national_road=rng.choice(content.national_roads))
    site = f"{county}{one_road}以{rng.choice('东西')}、{other_road}以{rng.choice('南北')}"
    street = f"{one_road}{rng.randint(1, 399)}号"
    if scenario.place == "site":
        return Place(county, f"{site}{project.removeprefix(county)}施工现场", f"{project}施工现场", project, site)
    if scenario.place == "field":
        return Place(county, f"{project.removeprefix(county)}等在建项目", "", project, site)
    if scenario.place == "agency":
        return Place(county, f"{department.agency}等受评价机构", "", project, site)
    if scenario.place == "community":
        community = f"{rng.choice(content.communities)}社区"
        return Place(county, f"{street}{community}党群服务中心", f"{county}{community}", project, site)
    venue = rng.choice(department.labs if scenario.place == "lab" else department.venues)
    return Place(county, street + venue.replace("市", f"{unit.city}市", 1), venue, project, site)


def figures_of(rng: random.Random, content: DemoContent, definitions: list[dict], scenario: Scenario,
               department: Department, place: Place, slogans: list[int]) -> dict:
    """Values for exactly the kind's figures, typed as its definitions say."""
    values = {}
    for definition in definitions:
        code, kind_of = definition["code"], definition["type"]
        given = scenario.figures.get(code)
        if kind_of == "int":
            low, high = given if _is_range(given) else content.figure_ranges.get(code, (1, 50))
            values[code] = given if isinstance(given, int) else rng.randint(low, high)
        elif kind_of == "choice":
            values[code] = _choice(rng, content, definition, given)
        elif kind_of == "multi":
            values[code] = _multi(rng, definition["choices"], given)
        elif kind_of == "slogans":
            values[code] = sorted(rng.sample(slogans, min(len(slogans), rng.randint(3, 7))))
        elif kind_of == "text":
            values[code] = given if isinstance(given, str) else _text_figure(rng, code, department, place)
    return _reconcile(rng, values)


def _is_range(given) -> bool:
    """[low, high] of ints narrows an int figure (a list of strings suggests choices)."""
    return isinstance(given, list) and len(given) == 2 and all(isinstance(n, int) for n in given)


def _choice(rng: random.Random, content: DemoContent, definition: dict, given) -> str:
    """The scenario's choice, one of its suggestions, or a weighted pick of all choices."""
    choices = definition["choices"]
    if isinstance(given, str) and given in choices:
        return given
    pool = _suggested(given, choices) or choices
    weights = content.choice_weights.get(definition["code"], {})
    return rng.choices(pool, [weights.get(c, 1) for c in pool])[0]


def _multi(rng: random.Random, choices: list[str], given) -> list[str]:
    """Some of the scenario's suggestions (at least one), or two to five of all choices."""
    suggested = _suggested(given, choices)
    pool = suggested or choices
    fewest = 1 if suggested else min(2, len(pool))
    picked = set(rng.sample(pool, rng.randint(fewest, min(len(pool), 5))))
    return [c for c in choices if c in picked]  # in the catalogue's order, as the form stores them


def _suggested(given, choices: list[str]) -> list[str]:
    return [c for c in given if c in choices] if isinstance(given, list) else []


def _text_figure(rng: random.Random, code: str, department: Department, place: Place) -> str:
    if code == "project_name":
        return place.project
    if code == "project_site":
        return place.site
    if code == "standards":
        return rng.choice(department.standards)
    return "详见活动内容"


def _reconcile(rng: random.Random, values: dict) -> dict:
    """Keep related figures consistent: awards ≤ contestants, rectified ≤ found, adopted ≤ entries."""
    if "awards" in values and "contestants" in values:
        values["awards"] = min(values["awards"], max(1, values["contestants"] // 3))
    if "problems_rectified" in values and "problems_found" in values:
        values["problems_rectified"] = round(values["problems_found"] * rng.uniform(0.82, 1.0))
    if "adopted" in values:
        entries = sum(values.get(c, 0) for c in ("improvements", "inventions", "designs", "innovations", "suggestions"))
        values["adopted"] = round(entries * rng.uniform(0.2, 0.5))
    return values


def participants_of(rng: random.Random, kind_text: KindText, figures: dict) -> int:
    """人次 consistent with the figures; sets trainees and attendees (they are the participants)
    and raises a publicity entry's reach above them."""
    low, high = kind_text.participants
    for code in ("trainees", "attendees"):
        if code in figures:
            figures[code] = rng.randint(low, high)
            return figures[code]
    extra = rng.randint(low, high)
    if figures.get("contestants"):
        return figures["contestants"] + extra  # judges, staff and audience
    if figures.get("visitors"):
        return figures["visitors"] + extra
    if "experts" in figures:
        return figures["experts"] + extra
    if "reach" in figures:
        figures["reach"] = max(figures["reach"], extra * 5)
    return extra


def derived_texts(figures: dict) -> dict:
    texts = {}
    if "channels" in figures:
        texts["channels_text"] = "、".join(figures["channels"])
    if "topics" in figures:
        texts["topics_text"] = "、".join(figures["topics"])
    if figures.get("problems_found"):
        texts["rate"] = round(100 * figures.get("problems_rectified", 0) / figures["problems_found"])
    return texts


def title_of(rng: random.Random, unit: Unit, name: str, scenario: Scenario, place: Place, year: int) -> str:
    """济南市…, 济南市2024年…, or 济南市历城区… for what happens in one district."""
    roll = rng.random()
    if roll < 0.3:
        return f"{unit.city}市{year}年{name}"
    if roll < 0.45 and scenario.place in ("site", "community"):
        return f"{unit.city}市{place.county}{name}"
    return f"{unit.city}市{name}"


def _when(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return f"{starts_on.month}月{starts_on.day}日"
    if starts_on.month == ends_on.month:
        return f"{starts_on.month}月{starts_on.day}日至{ends_on.day}日"
    return f"{starts_on.month}月{starts_on.day}日至{ends_on.month}月{ends_on.day}日"


def description_of(rng: random.Random, content: DemoContent, unit: Unit, scenario: Scenario, kind_text: KindText,
                   name: str, place: Place, starts_on: date, ends_on: date, context: dict, *, today: date) -> str:
    """Formal sentences: what, how, with whom and how many; the data file's plan for what is yet to be
    held, and no figures for what is still going on."""
    verb = scenario.verb or kind_text.verb
    at = f"在{place.venue}" if place.venue else ""
    what = scenario.content.format(**context)
    closing = rng.choice(content.closings) if rng.random() < 0.4 else ""  # drawn whatever the clock says
    if today <= ends_on:  # not held yet, or still going on: no figures to tell
        text = content.planned if today < starts_on else content.in_progress
        return text.format(unit=unit.name, when=_when(starts_on, ends_on), at=at, verb=verb, name=name, content=what)
    sentences = [
        f"{_when(starts_on, ends_on)}，{unit.name}{at}{verb}{name}。",
        what,
        (scenario.summary or kind_text.summary).format(**context),
    ]
    return "".join(sentences) + closing.format(**context)


def results_of(rng: random.Random, scenario: Scenario, kind_text: KindText, context: dict) -> str:
    pool = scenario.results or kind_text.results
    chosen = rng.sample(pool, rng.randint(1, min(2, len(pool))))
    return "".join(sentence.format(**context) for sentence in chosen)


def co_organisers_of(rng: random.Random, department: Department, kind_text: KindText) -> str:
    pool = department.co_organisers + kind_text.co_organisers
    if rng.random() >= 0.4 or not pool:
        return ""
    return "、".join(rng.sample(pool, rng.randint(1, min(2, len(pool)))))
