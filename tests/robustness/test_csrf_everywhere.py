"""CSRF on every state-changing route, htmx requests included: without the token a write
is refused and the database is left as it was."""
from __future__ import annotations

import pytest

from qmonth import jobs

from tests.access.access_spec import SPEC
from tests.access.access_world import ACTORS, build_world, sign_in, url_for_rule
from tests.access.test_access_matrix import POST_DATA
from tests.helpers import build_activity
from tests.robustness.test_get_is_safe import database_snapshot

WRITES = sorted(route for route in SPEC if not route.endswith(" GET"))


def allowed_actor(route: str) -> str:
    """The first actor for whom the route works on bureau A's object."""
    if route == "auth.logout POST":  # always ends on the login page, so the spec says "login"
        return "reporter_a"
    for actor in ("anonymous", "reporter_a", "admin_a", "province"):
        expected = SPEC[route][actor]
        if (expected[0] if isinstance(expected, tuple) else expected) == "ok":
            return actor
    raise AssertionError(f"nobody may use {route}")


@pytest.fixture(scope="module")
def world(module_app):
    """One world for the whole module: a refused write changes nothing, and each test
    proves it for its own request (were one let through, that test fails, not a later one
    by surprise: the snapshot is taken just before)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs.engine(module_app), "dispatch", lambda job_id: None)
        yield build_world(build_activity)


@pytest.mark.xdist_group("csrf")  # one worker, so the world above is made once per database
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("route", WRITES)
def test_writes_without_a_csrf_token_are_refused(module_app, world, route, htmx):
    app = module_app
    endpoint, method = route.split()
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    client = sign_in(app, ACTORS[allowed_actor(route)])
    before = database_snapshot()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.open(url_for_rule(app, rule, world["a"]), method=method, data=POST_DATA.get(endpoint, {}),
                           headers=headers)
    # 400 from the CSRF check; the activity form and the login form answer 422 with the
    # page again (and the user's input), because they check the token themselves.
    assert response.status_code in (400, 422), response.status_code
    assert database_snapshot() == before
    if response.status_code == 400:
        assert "页面已过期，请刷新后重试。" in response.get_data(as_text=True)
    if route == "auth.logout POST":
        assert client.get("/").status_code == 200  # still signed in
