"""Security headers on every response, and no-store on every signed-in page."""
from __future__ import annotations

import pytest

from tests.access.access_world import ACTORS, build_world, sign_in, url_for_rule


@pytest.mark.one_database("headers are added after the view, whatever the database")
def test_every_get_route_carries_the_security_headers(app, make_activity):
    world = build_world(make_activity)
    checked = 0
    for actor in ("anonymous", "reporter_a", "admin_a", "province"):
        client = sign_in(app, ACTORS[actor])
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            response = client.get(url_for_rule(app, rule, world["a"]))
            policy = response.headers.get("Content-Security-Policy", "")
            where = f"{rule.endpoint} as {actor}"
            assert_strict_policy(policy, where)
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
            assert response.headers.get("X-Content-Type-Options") == "nosniff", where
            assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
            signed_in_page = actor != "anonymous" and response.mimetype == "text/html"
            if signed_in_page:
                assert response.headers.get("Cache-Control") == "no-store", where
            checked += 1
    assert checked > 150


def assert_strict_policy(policy: str, where: str) -> None:
    """default-src 'self' with objects refused, or the report previews' stricter
    default-src 'none'; frames never."""
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives.get("default-src") in ("'self'", "'none'"), where
    assert "'none'" in (directives.get("object-src"), directives.get("default-src")), where
    assert directives.get("frame-ancestors") == "'none'", where
