"""The access matrix, generated from app.url_map: every route and method, for every actor,
against bureau A's objects, bureau B's objects and ids that do not exist.

A new route fails `test_every_route_has_an_entry` until its expected outcomes are written
down here. Outcomes: "ok" (the feature's page or action, including its own 409/422),
"404", "403", "login" (sent to the login page).
"""
from __future__ import annotations

import json
import os

import pytest

from qmonth import create_app, jobs

from tests.access.access_spec import SPEC
from tests.access.access_world import ACTORS, OWNERS, build_world, outcome, sign_in, url_for_rule, world_title
from tests.helpers import build_activity

# Request bodies for writes: enough to pass form parsing, so what decides is access.
POST_DATA = {
    "reviews.return_": {"reason": "请补充现场照片。"},
    "board.send": {"message": "请尽快报送。", "units": ["jinan-zj"]},
    "board.reopen": {"reason": "系统故障补报。", "due_at": "2024-10-20T18:00"},
    "board.due_date": {"due_date": "2024-10-08", "due_time": "18:00"},
    "photos.caption": {"caption": "现场照片"},
    "photos.move": {"direction": "up"},
    "reports.save_section": {"problems": "下一步加强培训。"},
}


def _routes():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(f"{rule.endpoint} {method}")
    return sorted(routes)


ROUTES = _routes()


def test_every_route_has_an_entry():
    assert sorted(SPEC) == ROUTES, "a route without an access entry (or an entry without a route)"


def observe(app, route: str, world_for_next_actor) -> dict:
    """Every actor's outcomes of one route, against A's, B's and missing objects.

    `world_for_next_actor(changed)` gives the objects the next actor meets: for a write it
    is made afresh after an actor's write went through (`changed`), since an allowed write
    (a delete, a submit) may change what the next actor meets; a refused one changes nothing.
    """
    endpoint, method = route.split()
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    seen = {}
    changed = True
    for actor, username in ACTORS.items():
        world = world_for_next_actor(changed)
        client = sign_in(app, username)
        results = []
        for owner in (OWNERS if rule.arguments else ("a",)):
            url = url_for_rule(app, rule, world[owner])
            if method == "GET":
                response = client.get(url)
            else:
                response = client.open(url, method=method,
                                       data={"csrf_token": client.token, **POST_DATA.get(endpoint, {})})
            results.append(outcome(response))
            other_bureau = {"reporter_a": "b", "admin_a": "b", "reporter_b": "a"}.get(actor)
            if other_bureau and response.mimetype.startswith("text/"):
                leaked = world_title(world, other_bureau)
                assert leaked not in response.get_data(as_text=True), f"{actor} got {leaked} from {url}"
        changed = method != "GET" and "ok" in results
        seen[actor] = tuple(results) if rule.arguments else results[0]
    return seen


def check(route: str, seen: dict) -> None:
    if os.environ.get("QMONTH_DUMP_ACCESS"):
        with open(os.environ["QMONTH_DUMP_ACCESS"], "a") as dump:
            dump.write(json.dumps({route: seen}, ensure_ascii=False) + "\n")
    expected = {actor: tuple(value) if isinstance(value, list) else value for actor, value in SPEC[route].items()}
    assert seen == expected


READS = [route for route in ROUTES if route.endswith(" GET")]
WRITES = [route for route in ROUTES if not route.endswith(" GET")]


@pytest.fixture(scope="module")
def read_world(module_app):
    """One world for every GET route of this module (a GET changes nothing): the objects,
    the app and its database are made once per database, not once per route."""
    with pytest.MonkeyPatch.context() as patch:
        # Jobs are asked for but not run (the ZIP would render 44 PDFs): what decides here is access.
        patch.setattr(jobs.engine(module_app), "dispatch", lambda job_id: None)
        yield build_world(build_activity)


@pytest.mark.xdist_group("access-reads")  # one worker, so the world above is made once per database
@pytest.mark.parametrize("route", READS)
def test_read_access(module_app, read_world, route):
    check(route, observe(module_app, route, lambda changed: read_world))


@pytest.mark.parametrize("route", WRITES)
def test_write_access(app, make_activity, route, monkeypatch):
    monkeypatch.setattr(jobs.engine(app), "dispatch", lambda job_id: None)
    world = {}

    def world_for_next_actor(changed: bool) -> dict:
        if changed:
            world.update(build_world(make_activity))
        return world

    check(route, observe(app, route, world_for_next_actor))
