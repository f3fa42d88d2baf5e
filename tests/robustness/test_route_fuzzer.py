"""A route fuzzer: every route of app.url_map, every method, every role, generated input.

For each rule of the URL map and each of its methods (HEAD and OPTIONS are Flask's own
answers to GET and are left out), as the province admin, a bureau reporter, a bureau's
unit admin and anonymously, it sends requests built from:

* path values: for int converters 0, -1, 2**31, 2**63, a 30-digit number, non-ASCII
  digits (٣ ² １), and real ids of the bureau's own and another bureau's objects; for
  string converters unit codes, the route's known words and hostile strings;
* query strings and form bodies from the route's known parameter names (FIELDS below,
  read from the views and forms) with valid values, hostile numbers, dates and text
  (the corpus of test_bad_input_corpus.py plus non-characters, surrogates, NUL, 𪚥),
  fields left out, repeated or unknown, and a valid CSRF token most of the time.

The run, on fresh objects of both bureaus each phase:

1. baseline: every route, method and role once with real ids and valid values, which
   also finds which roles reach each route;
2. sweep: for every route with fields, as one role that reaches it, every value of each
   hostile pool put into all the fields of its family at once (valid values elsewhere,
   so the value gets as far as it can); after a stored value, the redirect is followed
   and the pages and files that show it (READ_BACK) are opened;
3. random rounds (QMONTH_FUZZ_ROUNDS - 1): one example per route, method and role, more
   for the roles that reach the route, each mixing valid values, one or many hostile
   ones, missing, repeated and unknown fields.

It asserts that no answer is a 5xx and no page shows a traceback, and prints every
failing example, grouped by cause (exception and line), as Python a test client can
replay (role, method, URL, body). The generator is its own and seeded
(QMONTH_FUZZ_SEED, QMONTH_FUZZ_ROUNDS), so a run is reproducible.

A logout, a login, a password change or a disabled account would turn the rest of the
run anonymous: after such a POST the client is signed in again, and the demo accounts
are put back first when they changed. The test proves it: a signed-in role never meets
the login page, and every route and method got an answer past login, 403 and 404 from
some role (NEVER_REACHED lists exceptions: none today).

Run only this test:   scripts/test tests/robustness/test_route_fuzzer.py -q
A longer search:      QMONTH_FUZZ_ROUNDS=10 QMONTH_FUZZ_SEED=7 scripts/test tests/robustness/test_route_fuzzer.py -q
"""
from __future__ import annotations

import io
import os
import random
import re
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from flask import got_request_exception
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, PathConverter

from qmonth.extensions import db
from qmonth.models import ActivityState, Bulletin, Campaign, Photo, Unit, UnitReport, User

from tests.access.access_world import build_world, sign_in, small_jpeg
from tests.robustness.test_bad_input_corpus import corpus

SEED = int(os.environ.get("QMONTH_FUZZ_SEED", "20240901"))
ROUNDS = int(os.environ.get("QMONTH_FUZZ_ROUNDS", "3"))

ROLES = {"province": "province", "reporter": "jinan-zj", "unit_admin": "jinan-zj-admin", "anonymous": None}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
SWEEP_ROLES = ("reporter", "unit_admin", "province", "anonymous")
# Routes after which the demo accounts are restored and every client is signed in again.
SESSION_CHANGING = {"auth.logout", "auth.login", "auth.password", "admin.disable_user", "admin.enable_user"}

# Values ----------------------------------------------------------------------------------

HOSTILE_IDS = ["0", "-1", "2147483648", "9223372036854775808", "123456789012345678901234567890",
               "\u0663", "\u00b2", "\uff11", "\uff13", "3.0", "1e3", " 3", "0x1"]
HOSTILE_NUMBERS = ["--1", "\u00b2", "\uff11\uff12\uff10", "9" * 5000, "99999999999999999999", "-1", "-5",
                   "\u0663", "1e3", "12.5", "NaN", "inf", "0x1f", "1,200", " 7 ", "2147483648",
                   "9223372036854775808", ""]
HOSTILE_DATES = ["0001-01-01", "9999-12-31", "9999-12-30", "0001-01-02", "2024-02-30", "2024-9-1",
                 "\uff12\uff10\uff12\uff14-\uff10\uff19-\uff11\uff15", "20240915", "2024-09-15T10:00",
                 "+002024-09-15", "9999-99-99", "昨天", ""]
HOSTILE_TIMES = ["24:00", "23:60", "99:99", "9:5", "12:00:00", "-1:00", "\uff12\uff13:\uff15\uff19", ""]
EXTRA_TEXTS = {
    "U+FFFF": "质量\uffff月", "U+FFFE": "\ufffe质量月", "U+FDD0": "质量\ufdd0月", "U+1FFFF": "质量\U0001ffff月",
    "lone surrogate": "质\ud800量月", "low surrogate": "\udfff", "NUL alone": "\x00",
    "Extension B": "𪚥𠮷", "BOM": "\ufeff质量月", "tab": "质量\t月", "ESC": "质量\x1b[31m月",
    "percent escapes": "%00%zz%", "newline only": "\n", "long line": "质" * 3000,
    "dot segments": "../../etc/passwd", "format string": "{0.__class__}%s%n",
}


def text_pool() -> list[str]:
    """The corpus of test_bad_input_corpus.py and more; its 200,000 characters are sent rarely."""
    values = [value for name, value in corpus(200).items() if name != "200,000 characters"]
    return values + list(EXTRA_TEXTS.values())


class Pools:
    """Hostile values by kind, each drawn round-robin in a seeded order: every value is used."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pools = {"id": HOSTILE_IDS, "number": HOSTILE_NUMBERS, "date": HOSTILE_DATES,
                      "time": HOSTILE_TIMES, "text": text_pool()}
        self.order = {kind: rng.sample(values, len(values)) for kind, values in self.pools.items()}
        self.position = defaultdict(int)

    def draw(self, kind: str) -> str:
        if kind == "text" and self.rng.random() < 0.01:
            return "量" * 200_000
        order = self.order[kind]
        value = order[self.position[kind] % len(order)]
        self.position[kind] += 1
        return value

    def any(self) -> str:
        return self.draw(self.rng.choice(list(self.pools)))


# Parameters of each route ----------------------------------------------------------------
# A field's kind says how its valid and hostile values are made; see Generator.valid().

LIST_FILTERS = {"q": "text", "state": ("choice", [s.value for s in ActivityState]), "kind": "kind", "task": "task",
                "date_from": "date", "date_to": "date",
                "sort": ("choice", ["updated", "-updated", "title", "starts_on"]),
                "city": ("choice", ["济南", "青岛"]), "unit": "unit", "under": "unit", "subtree": "unit", "page": "page"}
FIGURES = {  # every kind's figure inputs; only the chosen kind's are read
    "fig_channels": ("choice", ["办公场所", "施工现场"]), "fig_slogans": "task", "fig_banners": "number",
    "fig_reach": "number", "fig_mode": ("choice", ["线上", "线下", "线上线下结合"]), "fig_trainees": "number",
    "fig_class_hours": "number", "fig_standards": "text", "fig_cqo_enterprises": "number",
    "fig_cases_published": "number", "fig_level": ("choice", ["省级", "市级"]), "fig_contestants": "number",
    "fig_awards": "number", "fig_project_name": "text", "fig_project_site": "text", "fig_attendees": "number",
    "fig_topics": ("choice", ["智能建造", "隔音降噪"]), "fig_improvements": "number", "fig_inventions": "number",
    "fig_designs": "number", "fig_innovations": "number", "fig_suggestions": "number", "fig_adopted": "number",
    "fig_agencies_evaluated": "number", "fig_agencies": "number", "fig_visitors": "number",
    "fig_problems_found": "number",
    "fig_projects_inspected": "number", "fig_problems_rectified": "number", "fig_experts": "number",
}
ACTIVITY_FORM = {
    "csrf_token": "csrf", "form_key": "form_key", "title": "text", "kind": "kind", "tasks": "task",
    "organiser": "text", "co_organisers": "text", "starts_on": "date", "ends_on": "date", "county": "text",
    "address": "text", "participants": "number", "description": "longtext", "results": "longtext",
    "contact_name": "text", "contact_phone": "text", "no_fee_declared": ("choice", ["y"]),
    "action": ("choice", ["save", "save", "submit"]), "relogin_username": "username",
    "relogin_password": "password", **FIGURES,
}
ACTIVITY_FILES = {"photos": "photo_file", "files": "document_file"}
REPORT_FIELDS = {"overview": "longtext", "practices": "longtext", "highlights_text": "longtext",
                 "problems": "longtext", "signature": "text", "signed_on": "date", "highlights": "activity_id",
                 "doc_number": "text", "signer": "text"}

FIELDS: dict[str, dict] = {  # endpoint: {"query": {...}, "form": {...}, "files": {...}}
    "auth.login": {"query": {"next": "next"}, "form": {"username": "username", "password": "password"}},
    "auth.password": {"form": {"current_password": "password", "new_password": "password",
                               "confirm_password": "password"}},
    "activities.index": {"query": LIST_FILTERS},
    "activities.export_csv": {"query": LIST_FILTERS},
    "activities.export_xlsx": {"query": LIST_FILTERS},
    "activities.figures": {"query": {"kind": "kind", **FIGURES}},
    "activities.check_field": {"query": {"field": ("choice", list(ACTIVITY_FORM))}, "form": ACTIVITY_FORM},
    "activities.new": {"form": ACTIVITY_FORM, "files": ACTIVITY_FILES},
    "activities.quick": {"form": ACTIVITY_FORM, "files": ACTIVITY_FILES},
    "activities.edit": {"form": ACTIVITY_FORM, "files": ACTIVITY_FILES},
    "photos.upload": {"files": {"photo": "photo_file"}},
    "photos.upload_staged": {"files": {"photo": "photo_file"}},
    "photos.upload_file": {"files": {"file": "document_file"}},
    "photos.upload_file_staged": {"files": {"file": "document_file"}},
    "photos.caption": {"form": {"caption": "text"}},
    "photos.create_photo_upload": {"form": {"length": "number", "filename": "text"}},
    "photos.create_staged_photo_upload": {"form": {"length": "number", "filename": "text"}},
    "photos.move": {"form": {"direction": ("choice", ["up", "down"])}},
    "admin.new_user": {"form": {"username": "username", "display_name": "text",
                                "role": ("choice", ["reporter", "unit_admin", "province_admin"]), "unit": "unit",
                                "password": "password", "confirm_password": "password"}},
    "admin.audit": {"query": {"unit": "unit", "user": "username", "action": "text", "date_from": "date",
                              "date_to": "date", "page": "page"}},
    "board.index": {"query": {"sort": ("choice", ["name", "-name", "late", "-entries"]),
                              "city": ("choice", ["济南", "青岛"]),
                              "status": ("choice", ["missing", "draft", "on_time", "late"]),
                              "under": "unit"}},
    "board.send": {"form": {"target": ("choice", ["selected", "missing"]), "units": "unit", "message": "text",
                            "under": "unit"}},
    "board.reopen": {"form": {"due_date": "date", "due_time": "time", "reason": "text"}},
    "board.due_date": {"form": {"due_date": "date", "due_time": "time", "under": "unit"}},
    "board.upload_campaign": {"files": {"file": "campaign_file"}},
    "static": {"query": {"v": "fingerprint"}},  # qmonth/static_files.py
    "reports.unit_pdf_status": {"query": {"fp": "fingerprint"}},
    "reports.bulletin_pdf_status": {"query": {"fp": "fingerprint"}},
    "reports.province_pdf_status": {"query": {"fp": "fingerprint"}},
    "reports.save_section": {"form": {**REPORT_FIELDS, "revision": "revision", "basis": "fingerprint",
                                      "pending": "fingerprint"}},
    "reports.submit": {"form": {**REPORT_FIELDS, "revision": "revision"}},
    "reports.reopen": {"form": {"reason": "text"}},
    "reports.upload_scan": {"files": {"scan": "document_file"}},
    "reports.edit_bulletin": {"form": {"title": "text", "lead": "longtext", "issued_on": "date",
                                       "item": "activity_id", "op": "bulletin_op", "position": "number"}},
    "reviews.queue": {"query": {"state": ("choice", ["submitted", "accepted", "returned", "all"]), "unit": "unit",
                                "kind": "kind", "page": "page"}},
    "reviews.accept": {"form": {"next": "next"}},
    "reviews.return_": {"form": {"reason": "text", "next": "next"}},
    "reviews.highlight": {"form": {"on": ("choice", ["1", "0"])}},
    "reviews.bulk": {"form": {"ids": "activity_id", "next": "next"}},
}
# Query parameters a route needs (the others are filters, each sent by chance).
REQUIRED_QUERY = {"fp"}
LATER_DATES = {"ends_on", "date_to", "due_date"}
# Which hostile pool (family) a field kind draws from when one value goes into every field of a family.
FAMILY_OF_KIND = {"text": "text", "longtext": "text", "username": "text", "password": "text",
                  "number": "number", "page": "number", "task": "number", "revision": "number",
                  "date": "date", "time": "time", "activity_id": "id"}


def family(kind) -> str | None:
    return FAMILY_OF_KIND.get(kind) if isinstance(kind, str) else None


# Words a string path converter takes on its route.
PATH_WORDS = {"variant": ["thumb", "screen", "print"], "field": list(REPORT_FIELDS),
              "filename": ["css/app.css", "vendor/htmx.min.js", "fonts/../../qmonth/config.py"]}
# Answers that stream a file or render a document: the costliest, so one example per round.
DOCUMENTS = {"activities.export_csv", "activities.export_xlsx", "board.highlights_zip", "reports.unit_pdf",
             "reports.unit_word", "reports.province_pdf", "reports.bulletin_pdf"}
# Pages and files that show what a route stores, opened after the sweep stored a value.
# (Text only: a stored number or date is shown by the page the redirect leads to.)
EXPORTS = ("activities.export_xlsx",)
READ_BACK = {"activities.new": EXPORTS, "activities.quick": EXPORTS, "activities.edit": EXPORTS,
             "reports.save_section": ("reports.unit_word",),
             "reports.edit_bulletin": ("reports.bulletin_preview",),
             "photos.caption": ("board.highlights_zip",), "board.reopen": ("board.index", "reports.index")}
# Rendered by WeasyPrint (seconds each): only in the first and the last round.
RENDERED_PDFS = {"reports.unit_pdf", "reports.province_pdf", "reports.bulletin_pdf"}
# Routes without a feature answer for any role in a generated run, with the reason.
NEVER_REACHED: dict[str, str] = {}


@dataclass
class Example:
    role: str
    method: str
    url: str
    endpoint: str
    body: list = field(default_factory=list)
    files: bool = False
    headers: dict = field(default_factory=dict)
    after: Example | None = None  # the request whose stored value this one reads back

    def replay(self) -> str:
        """Python for a test client signed in as the role (see access_world.sign_in)."""
        body = ""
        if self.body:
            pairs = ", ".join(f"({literal(k)}, {literal(v) if isinstance(v, str) else '<file>'})" for k, v in self.body)
            body = f", data=MultiDict([{pairs}])"
            if self.files:
                body += ", content_type='multipart/form-data'"
        headers = f", headers={self.headers!r}" if self.headers else ""
        replay = f"[{self.role}] client.open({literal(self.url)}, method={self.method!r}{body}{headers})"
        return f"{self.after.replay()[:1500]}\n      then {replay}" if self.after else replay


def literal(text: str) -> str:
    """A Python expression for text, long runs of one character written as 'x' * n."""
    parts, plain, index = [], "", 0
    while index < len(text):
        end = index
        while end < len(text) and text[end] == text[index]:
            end += 1
        if end - index >= 12:
            if plain:
                parts.append(repr(plain))
                plain = ""
            parts.append(f"{text[index]!r} * {end - index}")
        else:
            plain += text[index:end]
        index = end
    if plain or not parts:
        parts.append(repr(plain))
    return " + ".join(parts)


def raw(text: str) -> bytes:
    """UTF-8, lone surrogates included (as a browser would never, and an attacker might, send them)."""
    return text.encode("utf-8", "surrogatepass")


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(raw(k))}={quote_plus(raw(v))}" for k, v in pairs).encode("ascii")


# The generator ----------------------------------------------------------------------------

class Generator:
    """Builds examples for a rule from the current world (real ids) and the hostile pools."""

    def __init__(self, app, rng: random.Random):
        self.app = app
        self.rng = rng
        self.pools = Pools(rng)
        self.kinds = ["publicity", "training", "brand", "competition", "site_tour", "mass", "agency_evaluation",
                      "testing", "inspection"]
        self.worlds: list[dict] = []
        self.user_ids: list[int] = []
        self.first_objects = False  # path ids: the newest world's first object, not a random one

    def add_world(self, world: dict) -> None:
        self.worlds.append(world)
        self.user_ids = list(db.session.scalars(select(User.id).where(User.username.in_(
            ["jinan-zj", "jinan-zj-admin", "qingdao-zj", "province"]))))

    def real_ids(self, name: str) -> list[int]:
        """Ids of real objects: the newest world's first (they are not yet deleted), then older ones."""
        newest, older = self.worlds[-1], self.worlds[:-1]
        ids = [newest[owner][name] for owner in ("a", "b") if name in newest[owner]]
        ids += newest["extra"].get(name, [])
        if older and self.rng.random() < 0.3:
            world = self.rng.choice(older)
            ids.append(world[self.rng.choice("ab")].get(name, ids[0] if ids else 1))
        if name == "user_id":
            ids += self.user_ids
        return ids or [1]

    def path_value(self, name: str, converter, baseline: bool = False) -> str:
        roll = 0.0 if baseline else self.rng.random()
        if isinstance(converter, IntegerConverter):  # Werkzeug's, or the app's bounded one
            if roll < 0.6:
                key = {"number": "number", "campaign_id": "campaign_id"}.get(name, name)
                ids = self.real_ids(key)
                # The catch-up takes the newest world's first object (the bureau's own draft).
                return str(ids[0] if baseline and self.first_objects else self.rng.choice(ids))
            return self.pools.draw("id")
        if roll < 0.7:
            if name == "code":
                return "jinan-zj" if baseline else self.rng.choice(["jinan-zj", "jinan-zj", "qingdao-zj", "nowhere-zz"])
            if name == "form_key":
                return self.worlds[-1]["a"]["form_key"] if baseline else "%032x" % self.rng.getrandbits(128)
            if name == "token":  # a photo upload in progress (qmonth/photos/resumable.py)
                newest = self.worlds[-1]
                return newest["a"]["token"] if baseline else self.rng.choice(
                    [newest["a"]["token"], newest["b"]["token"], "%032x" % self.rng.getrandbits(128)])
            if name in PATH_WORDS:
                return self.rng.choice(PATH_WORDS[name])
        return self.pools.draw("text") if roll < 0.9 else self.pools.draw("id")

    def valid(self, kind, name: str, endpoint: str, role: str) -> str:
        rng = self.rng
        if isinstance(kind, tuple):
            return rng.choice(kind[1])
        return {
            "text": lambda: rng.choice(["质量安全讲堂", "济南市住建局", "0531-88886666", "历下区经十路 100 号"]),
            "longtext": lambda: rng.choice(["组织开展质量月培训，参训 120 人次。", "第一段。\r\n第二段。"]),
            "number": lambda: str(rng.choice([0, 1, 12, 120, 4500])),
            "page": lambda: str(rng.choice([1, 2, 3])),
            # Ends and upper bounds after starts and lower bounds, as a user picks them.
            "date": lambda: f"2024-09-{rng.randint(16, 30) if name in LATER_DATES else rng.randint(1, 15):02d}",
            "time": lambda: rng.choice(["23:59", "18:00", "09:30"]),
            "kind": lambda: rng.choice(self.kinds),
            "task": lambda: str(rng.randint(1, 9)),
            "unit": lambda: rng.choice(["jinan-zj", "qingdao-zj", "jinan-cg", "heze-sw"]),
            "username": lambda: rng.choice(["jinan-zj", "province", "jinan-zj-new", "qingdao-zj"]),
            "password": lambda: rng.choice(["qmonth-demo", "Zhiliang-2024-x", "wrong-password"]),
            "next": lambda: rng.choice(["/activities/", "/reviews/", "//example.invalid/", "javascript:alert(1)"]),
            "form_key": lambda: "%032x" % rng.getrandbits(128),
            "fingerprint": lambda: rng.choice(["0" * 64, "%064x" % rng.getrandbits(256)]),
            "activity_id": lambda: str(rng.choice(self.real_ids("activity_id"))),
            "revision": lambda: str(self.report_revision()),
            "bulletin_op": lambda: rng.choice(["save", "add", "remove", "up", "down"]) + (
                f":{rng.choice(self.real_ids('activity_id'))}" if rng.random() < 0.8 else ""),
            "csrf": lambda: "",  # filled in by the caller
        }[kind]()

    def hostile(self, kind) -> str:
        family = kind if isinstance(kind, str) else "choice"
        pool = {"number": "number", "page": "number", "task": "number", "revision": "number", "activity_id": "id",
                "date": "date", "time": "time", "choice": "text", "bulletin_op": "text"}.get(family, "text")
        if family == "bulletin_op" and self.rng.random() < 0.6:
            return self.rng.choice(["add", "remove", "up", "down"]) + ":" + self.pools.draw("id")
        if self.rng.random() < 0.15:
            return self.pools.any()
        return self.pools.draw(pool)

    def report_revision(self) -> int:
        revision = db.session.scalar(select(UnitReport.revision).join(Unit).where(Unit.code == "jinan-zj"))
        return revision or 0

    def fields(self, spec: dict, endpoint: str, role: str, token: str, baseline: bool = False,
               theme: tuple[str, str] | None = None, optional: bool = False) -> list[tuple[str, str]]:
        """Valid values, then one of: nothing changed, one field hostile, one hostile value in every
        field of a family, or each field hostile by chance; fields dropped, repeated and added.
        A baseline example keeps every value valid; a themed one has the theme's value in every
        field of its family and valid values elsewhere. Optional fields (a query string's filters)
        are each sent by chance only: a filter narrows what a page or an export shows."""
        rng = self.rng
        pairs = []
        for name, kind in spec.items():
            if kind == "csrf":
                roll = 0.0 if baseline or theme else rng.random()
                if roll < 0.9:
                    pairs.append((name, token))
                elif roll < 0.95:
                    pairs.append((name, self.pools.any()))
                continue
            if name == "position":  # bulletin positions are named position-<activity id>
                name = f"position-{rng.choice(self.real_ids('activity_id'))}"
            pairs.append((name, self.valid(kind, name, endpoint, role)))
        kinds = {name: kind for name, kind in spec.items()}
        kind_of = lambda name: kinds.get(name.split("-")[0], "text")  # noqa: E731 - position-<id>
        if optional:
            pairs = [(k, v) for k, v in pairs if k in REQUIRED_QUERY or (
                family(kind_of(k)) == theme[0] if theme else not baseline and rng.random() < 0.35)]
        if baseline:
            return pairs
        if theme:
            value = theme[1]
            return [(k, value if family(kind_of(k)) == theme[0] else v) for k, v in pairs]
        mode = rng.random()
        present = sorted({family(kind_of(k)) for k, _ in pairs} - {None})
        if mode < 0.15 or not pairs:
            pass
        elif mode < 0.5:
            index = rng.randrange(len(pairs))
            name = pairs[index][0]
            pairs[index] = (name, self.hostile(kind_of(name)))
        elif mode < 0.75 and present:
            chosen = rng.choice(present)
            value = self.pools.draw(chosen)
            pairs = [(k, value if family(kind_of(k)) == chosen else v) for k, v in pairs]
        else:
            pairs = [(k, self.hostile(kind_of(k)) if rng.random() < 0.3 else v) for k, v in pairs]
        if rng.random() < 0.3:  # missing fields
            pairs = [pair for pair in pairs if pair[0] == "csrf_token" or rng.random() > 0.3]
        if pairs and rng.random() < 0.2:  # a field repeated
            name = rng.choice(pairs)[0]
            pairs.append((name, self.hostile(kind_of(name))))
        if rng.random() < 0.05:  # an unknown field
            pairs.append((self.pools.draw("text") or "x", self.pools.any()))
        if endpoint == "reviews.bulk" and rng.random() < 0.05:
            pairs += [("ids", str(i)) for i in range(1, 40_001)]
        return pairs

    def file_value(self, kind: str) -> tuple[io.BytesIO, str]:
        rng = self.rng
        contents = {
            "photo_file": [small_jpeg(), b"", b"GIF89a" + bytes(20), rng.randbytes(300)],
            "document_file": [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", b"\x00\x00\x00\x18ftypmp42" + bytes(40),
                              b"PK\x03\x04" + bytes(30), b""],
            "campaign_file": ['name = "x"'.encode(), raw(self.pools.draw("text")), b"[[kinds]]\ncode = 1\n", b""],
        }[kind]
        name = rng.choice(["现场.jpg", "方案.pdf", "campaign.toml", "", "a" * 300 + ".jpg",
                           raw(self.pools.draw("text")).decode("utf-8", "replace")[:200] + ".jpg"])
        return io.BytesIO(rng.choice(contents)), name

    def example(self, rule, method: str, role: str, token: str, baseline: bool = False,
                theme: tuple[str, str] | None = None) -> Example:
        """A request for the rule; a baseline one has real ids and valid values only, a themed
        one real ids and the theme's value in every field of its family (see fields())."""
        rng = self.rng
        url = rule.rule
        for name, converter in rule._converters.items():
            value = self.path_value(name, converter, baseline or theme is not None)
            safe = "/" if isinstance(converter, PathConverter) else ""
            url = re.sub(r"<(?:[^:<>]+:)?" + name + r">", lambda _m: quote(raw(value), safe=safe), url, count=1)
        spec = FIELDS.get(rule.endpoint, {})
        query = (self.fields(spec["query"], rule.endpoint, role, token, baseline, theme, optional=True)
                 if spec.get("query") else [])
        if not (baseline or theme) and rng.random() < 0.05:
            query.append((self.pools.draw("text") or "q", self.pools.any()))
        if query:
            url += "?" + urlencoded(query).decode()
        example = Example(role=role, method=method, url=url, endpoint=rule.endpoint)
        if rng.random() < 0.3:
            example.headers["HX-Request"] = "true"
        if method == "GET":
            return example
        form = dict(spec.get("form", {}))
        if "csrf_token" not in form:
            form = {"csrf_token": "csrf", **form}
        example.body = self.fields(form, rule.endpoint, role, token, baseline, theme)
        if rule.endpoint in ("photos.upload", "photos.upload_staged", "photos.upload_file",
                             "photos.upload_file_staged") and rng.random() < 0.5:
            example.headers["X-Requested-With"] = "qmonth-upload"
            example.body = [pair for pair in example.body if pair[0] != "csrf_token"]
            example.headers["X-CSRFToken"] = token
        files = spec.get("files", {})
        if files and (rng.random() < 0.8 or "activities" not in rule.endpoint):
            example.files = True
            for name, kind in files.items():
                if rng.random() < 0.85:
                    example.body.append((name, self.file_value(kind)))
        return example


# Running ----------------------------------------------------------------------------------

@dataclass
class Failure:
    example: Example
    status: int
    problem: str


class Fuzzer:
    def __init__(self, app, make_activity):
        self.app = app
        self.make_activity = make_activity
        self.rng = random.Random(SEED)
        self.generator = Generator(app, self.rng)
        self.clients: dict = {}
        self.tokens: dict = {}
        self.failures: list[Failure] = []
        self.reached: dict[tuple[str, str], set] = defaultdict(set)
        self.requested: set[tuple[str, str]] = set()
        self.lost_sessions: list[Example] = []
        self.requests = 0
        self.phases: list[tuple[str, int, float]] = [("start", 0, time.monotonic())]
        self.seconds: dict[str, float] = defaultdict(float)
        self.exception = None
        self.accounts = {}
        got_request_exception.connect(self._remember_exception, app)

    def _remember_exception(self, _sender, exception, **_extra):
        self.exception = exception

    def snapshot_accounts(self) -> None:
        """The demo accounts as they are, to put back after a generated logout or password change."""
        self.accounts = {user.username: (user.password_hash, user.is_enabled, user.session_version)
                         for user in db.session.scalars(select(User).where(User.username.in_(
                             [u for u in ROLES.values() if u] + ["qingdao-zj"])))}

    def restore_accounts(self) -> None:
        for username, (password_hash, enabled, version) in self.accounts.items():
            db.session.execute(update(User).where(User.username == username).values(
                password_hash=password_hash, is_enabled=enabled, session_version=version))
        db.session.commit()
        db.session.expire_all()
        self.sign_in_all()

    def sign_in_all(self) -> None:
        for role, username in ROLES.items():
            client = sign_in(self.app, username)
            self.clients[role], self.tokens[role] = client, client.token

    def build_world(self) -> None:
        """Fresh objects of both bureaus (drafts, a submitted and an accepted entry, photos, files)."""
        db.session.expire_all()
        world = build_world(self.make_activity)
        extra = defaultdict(list)
        for code in ("jinan-zj", "qingdao-zj"):
            for state in (ActivityState.SUBMITTED, ActivityState.ACCEPTED):
                extra["activity_id"].append(self.make_activity(code, title=f"{code} {state.value}", state=state).id)
        extra["campaign_id"] = list(db.session.scalars(select(Campaign.id)))
        extra["number"] = list(db.session.scalars(select(Bulletin.number)))
        extra["photo_id"] = list(db.session.scalars(select(Photo.id).order_by(Photo.id.desc()).limit(4)))
        world["extra"] = extra
        self.generator.add_world(world)

    def examples_per_round(self, endpoint: str, method: str) -> int:
        """Examples for a role that reached the route; forms with many fields get the most."""
        if endpoint in DOCUMENTS or endpoint in SESSION_CHANGING:
            return 1
        spec = FIELDS.get(endpoint, {})
        if method == "POST" and len(spec.get("form", {})) >= 10:
            return 6
        return 3 if spec else 1

    def run(self, rounds: int) -> None:
        """A baseline round (every route, method and role, valid values), the sweep, then random
        rounds, each on fresh objects; rendered PDFs only in the first and the last round."""
        # Deleting routes last, the activity's last of all: every other route meets the world's
        # objects whole in the baseline instead of depending on a later random round.
        rules = sorted(self.app.url_map.iter_rules(), key=lambda r: (
            r.endpoint == "activities.delete", r.endpoint.endswith(("delete", "delete_file")), r.endpoint, r.rule))
        combos = [(rule, method) for rule in rules for method in sorted(rule.methods - SKIPPED_METHODS)]
        self.snapshot_accounts()
        self.sign_in_all()
        self.build_world()
        for rule, method in combos:
            for role in ROLES:
                self.send(self.generator.example(rule, method, role, self.tokens[role], baseline=True))
        self.phases.append(("baseline", self.requests, time.monotonic()))
        self.sweep(combos)
        self.phases.append(("sweep", self.requests, time.monotonic()))
        for number in range(1, rounds):
            self.build_world()
            for rule, method in combos:
                if rule.endpoint in RENDERED_PDFS and number != rounds - 1:
                    continue
                for role in ROLES:
                    reached = role in self.reached[(rule.endpoint, method)]
                    for _ in range(self.examples_per_round(rule.endpoint, method) if reached else 1):
                        self.send(self.generator.example(rule, method, role, self.tokens[role]))
            self.phases.append((f"round {number}", self.requests, time.monotonic()))
        self.catch_up(combos)

    def catch_up(self, combos) -> None:
        """Routes no role has reached yet (their random ids all fell on another bureau's or a
        used object): once more with valid values on a fresh world's first objects."""
        missed = [(rule, method) for rule, method in combos if not self.reached[(rule.endpoint, method)]]
        if not missed:
            return
        self.build_world()
        self.generator.first_objects = True
        for rule, method in missed:
            for role in ROLES:
                self.send(self.generator.example(rule, method, role, self.tokens[role], baseline=True))
        self.generator.first_objects = False
        self.phases.append(("catch-up", self.requests, time.monotonic()))

    def sweep(self, combos) -> None:
        """Every value of each hostile pool, in every field of its family at once, valid values
        elsewhere: as each role that reached the route, so the value gets as far as it can go."""
        self.build_world()
        pools = self.generator.pools.pools
        for rule, method in combos:
            if rule.endpoint in DOCUMENTS:
                continue  # their filters are the list's (swept there); READ_BACK opens them
            spec = FIELDS.get(rule.endpoint, {})
            kinds = list(spec.get("query", {}).values())
            if method != "GET":
                kinds += list(spec.get("form", {}).values())
            families = sorted({family(kind) for kind in kinds} - {None})
            # One role that reached the route (a bureau's first: most routes are theirs); the
            # random rounds send the others.
            role = next((role for role in SWEEP_ROLES if role in self.reached[(rule.endpoint, method)]), None)
            for role in [role] if role else []:
                for name in families:
                    for value in pools[name]:
                        example = self.generator.example(rule, method, role, self.tokens[role], theme=(name, value))
                        response = self.send(example)
                        if method == "POST" and response is not None and response.status_code < 400:
                            self.read_back(example, response, pages=name == "text")

    def read_back(self, example: Example, response, pages: bool) -> None:
        """What a stored value breaks shows on the pages that show it: follow the redirect, as
        the browser does, and open the route's READ_BACK pages and files."""
        location = urlsplit(response.headers.get("Location", ""))
        if 300 <= response.status_code < 400 and location.path not in ("", "/login"):
            url = location.path + (f"?{location.query}" if location.query else "")
            self.send(Example(role=example.role, method="GET", url=url,
                              endpoint=f"{example.endpoint} → {location.path}", after=example))
        for endpoint in READ_BACK.get(example.endpoint, ()) if pages else ():
            rule = next(rule for rule in self.app.url_map.iter_rules() if rule.endpoint == endpoint)
            page = self.generator.example(rule, "GET", example.role, self.tokens[example.role], baseline=True)
            page.after = example
            self.send(page)

    def send(self, example: Example):
        """Send the example and check the answer; returns the response (None if the app raised)."""
        client = self.clients[example.role]
        started = time.monotonic()
        try:
            return self._send(client, example)
        finally:
            self.seconds[example.endpoint] += time.monotonic() - started

    def _send(self, client, example: Example):
        self.exception = None
        self.requests += 1
        self.requested.add((example.endpoint, example.method))
        try:
            if example.files:
                # A multipart body is built by the test client, which takes only encodable text.
                data = MultiDict([(raw(k).decode("utf-8", "replace"),
                                   v if not isinstance(v, str) else raw(v).decode("utf-8", "replace"))
                                  for k, v in example.body])
                response = client.open(example.url, method=example.method, data=data, headers=example.headers,
                                       content_type="multipart/form-data")
            elif example.method == "GET":
                response = client.open(example.url, method="GET", headers=example.headers)
            else:
                response = client.open(example.url, method=example.method, data=urlencoded(example.body),
                                       headers=example.headers, content_type="application/x-www-form-urlencoded")
        except Exception as error:  # noqa: BLE001 - an exception out of the app is the finding
            self.failures.append(Failure(example, 0, describe(error)))
            self.after(example)
            return None
        body = response.get_data()
        if response.status_code >= 500 or b"Traceback (most recent call last)" in body:
            problem = describe(self.exception) if self.exception else "no exception recorded"
            self.failures.append(Failure(example, response.status_code, problem))
        location = urlsplit(response.headers.get("Location", "")).path
        to_login = response.status_code == 401 or (300 <= response.status_code < 400 and location == "/login")
        if to_login and example.role != "anonymous" and example.endpoint != "auth.logout":
            self.lost_sessions.append(example)
        if not to_login and response.status_code not in (403, 404, 405):
            self.reached[(example.endpoint, example.method)].add(example.role)
        self.after(example)
        return response

    def after(self, example: Example) -> None:
        """After a logout, login, password change or account change: sign in again (and put the
        demo accounts back first when they changed), so no role continues anonymous."""
        if example.endpoint not in SESSION_CHANGING or example.method == "GET":
            return
        if self.accounts_changed():
            self.restore_accounts()
            return
        client = sign_in(self.app, ROLES[example.role])
        self.clients[example.role], self.tokens[example.role] = client, client.token

    def accounts_changed(self) -> bool:
        db.session.rollback()
        rows = db.session.execute(select(User.username, User.password_hash, User.is_enabled, User.session_version)
                                  .where(User.username.in_(list(self.accounts))))
        return {row.username: tuple(row[1:]) for row in rows} != self.accounts


def describe(error: BaseException) -> str:
    """The exception and the innermost frame of qmonth's code that raised it."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if "/qmonth/" in frame.filename]
    where = f" at {frames[-1].filename.split('/qmonth/')[-1]}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line[:160]}{where}"


def report(fuzzer: Fuzzer, seconds: float) -> str:
    """The failures grouped by cause, each with up to three examples to replay."""
    causes: dict[str, list[Failure]] = defaultdict(list)
    for failure in fuzzer.failures:
        causes[f"{failure.example.endpoint} {failure.example.method}: {failure.problem}"].append(failure)
    lines = [f"{len(fuzzer.failures)} failing of {fuzzer.requests} requests in {seconds:.0f} s "
             f"({fuzzer.cpu_seconds:.0f} s of CPU) "
             f"(seed {SEED}, {ROUNDS} rounds), {len(causes)} causes:"]
    lines.append("requests and seconds by phase: " + ", ".join(
        f"{name} {count - before} in {end - start:.1f}"
        for (_, before, start), (name, count, end) in zip(fuzzer.phases, fuzzer.phases[1:])))
    slowest = sorted(fuzzer.seconds.items(), key=lambda item: -item[1])[:8]
    lines.append("slowest routes (s): " + ", ".join(f"{endpoint} {seconds:.1f}" for endpoint, seconds in slowest))
    for cause, failures in sorted(causes.items()):
        lines.append(f"\n* {cause}  [{len(failures)}x, HTTP {failures[0].status}]")
        for failure in failures[:3]:
            lines.append("    " + failure.example.replay()[:3000])
    return "\n".join(lines)


def test_every_route_answers_generated_input_without_a_server_error(app, make_activity, monkeypatch):
    # Jobs are asked for but not run: each changed world would start a ZIP of 44 PDFs.
    from qmonth import jobs

    monkeypatch.setattr(jobs.engine(app), "dispatch", lambda job_id: None)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 page itself is part of what is checked
    # Each 500's traceback is summed up in the report instead. The logger is shared by every
    # app of the process, so it is switched back on after the test.
    monkeypatch.setattr(app.logger, "disabled", True)
    fuzzer = Fuzzer(app, make_activity)
    started, cpu_started = time.monotonic(), time.process_time()
    fuzzer.run(ROUNDS)
    seconds, fuzzer.cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    print("\n".join(report(fuzzer, seconds).splitlines()[:3]))  # figures and time, shown with -s

    every_route = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - SKIPPED_METHODS}
    problems = []
    if not every_route <= fuzzer.requested:
        problems.append(f"never requested: {sorted(every_route - fuzzer.requested)}")
    not_reached = sorted(f"{endpoint} {method}" for endpoint, method in every_route
                         if not fuzzer.reached[(endpoint, method)] and endpoint not in NEVER_REACHED)
    if not_reached:
        problems.append(f"never answered past login, 403 or 404 for any role: {not_reached}")
    if fuzzer.lost_sessions:
        problems.append("a signed-in role was sent to the login page: " + "; ".join(
            example.replay() for example in fuzzer.lost_sessions[:5]))
    if fuzzer.failures:
        problems.append(report(fuzzer, seconds))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
