"""Real Chromium, the reporter's phone: the outbox's remaining promises. Repeated failures are said
and the data kept; the timer and a return to the screen each start a send; a browser that will not
promise to keep the data is named; a CSRF failure or a redirect to the login page holds the entry
until login; a lost answer to the entry itself does not double it; quick entry's own check names
the empty fields."""
import re
from datetime import timedelta

from tests.activities.outbox_support import (
    arrived, arrived_with, entry_of, hold_sending, log_in, outbox, quick_entry, wait_for, wait_until,
)
from tests.conftest import DEMO_PASSWORD
from tests.photos.weak_link import WeakLink

WARNING = "已多次发送未成功，登记仍保存在本机，有信号时会自动继续发送，也可点击「立即发送」。"
RELOGIN = "登录已过期，重新登录后自动继续发送"
STORED = """() => new Promise((resolve, reject) => {
  const opened = indexedDB.open("qmonth-outbox");
  opened.onerror = () => reject(opened.error);
  opened.onsuccess = () => {
    const tx = opened.result.transaction(["entries", "photos"]);
    const entries = tx.objectStore("entries").getAll(), photos = tx.objectStore("photos").getAll();
    tx.oncomplete = () => resolve(entries.result.map(entry => ({
      title: entry.title, state: entry.state, failures: entry.failures || 0,
      photos: photos.result.filter(photo => photo.entryId === entry.id && photo.blob).length})));
  };
})"""
IDLE = "!document.querySelector('#outbox-send').disabled"


def stored(page) -> list[dict]:
    return page.evaluate(STORED)


def alert_text(page) -> str:
    return page.evaluate("document.querySelector('#outbox-alert').hidden ? '' : "
                         "document.querySelector('#outbox-alert').textContent")


def refused_once_more(page, held, before: int) -> None:
    """Wait until the held server has refused one more round and the outbox has finished it."""
    assert wait_for(lambda: held["refused"] > before, timeout_s=10), held
    assert wait_until(page, IDLE)
    page.wait_for_timeout(300)  # the round's render (IndexedDB is asynchronous)


def test_repeated_failures_are_said_and_the_entry_is_kept_until_it_gets_through(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    held = hold_sending(live_server)  # the server is down for the outbox
    page.goto(f"{live_server.url}/activities/quick")
    quick_entry(page, "多次发送失败的登记", photos=2)
    refused_once_more(page, held, 0)
    assert alert_text(page) == ""  # one failure is not worth a warning
    refused = held["refused"]
    page.click("#outbox-send")
    refused_once_more(page, held, refused)
    assert alert_text(page) == ""
    refused = held["refused"]
    page.click("#outbox-send")  # the third round in a row that sends nothing
    refused_once_more(page, held, refused)
    assert wait_until(page, f"document.querySelector('#outbox-alert').textContent === {WARNING!r}")
    assert page.is_visible("#outbox-alert")
    entry = entry_of(page, "多次发送失败的登记")
    assert entry["state"] == "local" and entry["status"] == "仅在本机"
    assert stored(page) == [{"title": "多次发送失败的登记", "state": "local", "failures": 0, "photos": 2}]
    assert page.is_visible("#outbox-send")
    assert arrived(live_server, "多次发送失败的登记") == []

    held["on"] = False  # the server is back
    page.click("#outbox-send")
    found = wait_for(lambda: arrived_with(live_server, "多次发送失败的登记", 2))
    assert found, arrived(live_server, "多次发送失败的登记")
    assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")
    assert wait_until(page, "document.querySelector('#outbox-alert').hidden")
    page.wait_for_timeout(1000)  # a late repeat would land now
    assert len(arrived(live_server, "多次发送失败的登记")) == 1


def held_entry_waiting(live_server, page, title: str) -> dict:
    """An entry saved while the server is down; the server back, but no round started since. The
    page's clock is paused (the outbox's timer does not run unless the test moves it)."""
    page.clock.install()
    log_in(page, live_server.url)
    held = hold_sending(live_server)
    page.goto(f"{live_server.url}/activities/quick")
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    quick_entry(page, title, photos=1)
    refused_once_more(page, held, 0)
    held["on"] = False
    page.wait_for_timeout(2000)  # nothing starts a round by itself...
    assert arrived(live_server, title) == [] and entry_of(page, title)["state"] == "local"
    return held


def test_the_timer_alone_sends_what_waits(live_server, page_at):
    page = page_at(390, 844)
    held_entry_waiting(live_server, page, "定时重试发送的登记")
    # One failed round: the next is due after 60 s (30 s, doubled). Not before...
    page.clock.run_for(55_000)
    page.wait_for_timeout(1500)
    assert arrived(live_server, "定时重试发送的登记") == []
    # ...but then, with no event and no tap.
    page.clock.run_for(6_000)
    found = wait_for(lambda: arrived_with(live_server, "定时重试发送的登记", 1))
    assert found, (arrived(live_server, "定时重试发送的登记"), outbox(page))
    assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")


VISIBILITY = """state => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_coming_back_to_the_screen_alone_sends_what_waits(live_server, page_at):
    page = page_at(390, 844)
    held_entry_waiting(live_server, page, "回到屏幕时发送的登记")
    page.evaluate(VISIBILITY, "hidden")  # the phone locked: no round
    page.wait_for_timeout(1500)
    assert arrived(live_server, "回到屏幕时发送的登记") == []
    page.evaluate(VISIBILITY, "visible")  # unlocked, the page on the screen again
    found = wait_for(lambda: arrived_with(live_server, "回到屏幕时发送的登记", 1))
    assert found, (arrived(live_server, "回到屏幕时发送的登记"), outbox(page))


PERSIST = """granted => {
  window.qmonthPersistAsked = 0;
  const storage = Object.getPrototypeOf(navigator.storage);
  Object.defineProperty(storage, "persisted", { configurable: true, value: () => Promise.resolve(false) });
  Object.defineProperty(storage, "persist", { configurable: true, value: () => {
    window.qmonthPersistAsked += 1;
    return Promise.resolve(granted);
  } });
}"""
NOT_PERSISTED = "浏览器未承诺长期保留本机暂存的登记，存储空间紧张时可能清除，请有信号时及时发送；建议用手机自带的浏览器打开本站。"


def test_a_browser_that_will_not_keep_the_outbox_is_named_and_the_system_browser_suggested(live_server, page_at):
    for granted in (False, True):
        page = page_at(390, 844)
        page.context.add_init_script(script=f"({PERSIST})({'true' if granted else 'false'})")
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/activities/quick")
        assert wait_until(page, "document.querySelector('#outbox').dataset.persisted !== undefined")
        assert page.evaluate("window.qmonthPersistAsked") == 1  # asked, once
        notes = page.inner_text("#outbox-notes")
        if granted:
            assert page.get_attribute("#outbox", "data-persisted") == "yes"
            assert "未承诺长期保留" not in notes and page.locator("[data-note=not-persisted]").count() == 0
        else:
            assert page.get_attribute("#outbox", "data-persisted") == "no"
            assert page.inner_text("[data-note=not-persisted]") == NOT_PERSISTED
            assert page.is_visible("[data-note=not-persisted]")


def test_inside_wechat_the_page_says_to_open_the_system_browser(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  user_agent="Mozilla/5.0 (Linux; Android 13) Mobile MicroMessenger/8.0.47")
    try:
        page = context.new_page()
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/activities/quick")
        assert wait_until(page, "!!document.querySelector('[data-note=in-app]')")
        assert "选择「在浏览器打开」，用手机自带的浏览器登记" in page.inner_text("[data-note=in-app]")
    finally:
        context.close()


def sign_in_again(page, base_url: str) -> None:
    """Follow the outbox's 「重新登录」 link; sign in if the login form is shown."""
    page.click("#outbox-alert a")
    page.wait_for_load_state()
    if page.locator("#username").count():
        page.fill("#username", "jinan-zj")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/activities/quick")


def intercept_first_entry(server, answer):
    """Hand the outbox's first new entry (POST /activities/quick) to `answer(environ, start_response,
    app)`; the later ones go to the app. Returns what was seen: {"statuses": [...]}."""
    app = server.app.wsgi_app
    seen = {"done": False, "statuses": []}

    def middleware(environ, start_response):
        if (not seen["done"] and environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/activities/quick"
                and environ.get("HTTP_X_REQUESTED_WITH") == "qmonth-upload"):
            seen["done"] = True

            def recording(status, headers, *rest):
                seen["statuses"].append(int(status.split()[0]))
                return start_response(status, headers, *rest)

            return answer(environ, recording, app)
        return app(environ, start_response)

    server.app.wsgi_app = middleware
    return seen


def stale_token(environ, start_response, app):
    """The entry's CSRF token no longer matches the session (rotated by a sign-in in another tab):
    the token in the body and in the header is replaced by a well-formed one the server never issued."""
    import io

    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = re.sub(rb'(name="csrf_token"\r\n\r\n)[^\r]+', rb"\1" + b"I" * 20 + b".stale.token", body)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["HTTP_X_CSRFTOKEN"] = "I" * 20 + ".stale.token"
    return app(environ, start_response)


def test_a_csrf_failure_holds_the_entry_until_login_and_nothing_is_doubled(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    seen = intercept_first_entry(live_server, stale_token)
    quick_entry(page, "令牌失效时的登记", photos=1)
    assert wait_until(page, f"document.querySelector('#outbox-alert').textContent.includes({RELOGIN!r})")
    assert seen["statuses"] == [403]  # quick entry's own CSRF check refused it (qmonth/activities/views.py)
    assert page.is_visible("#outbox-alert a")
    entry = entry_of(page, "令牌失效时的登记")
    assert entry["state"] == "local" and entry["status"] == "仅在本机"
    assert stored(page) == [{"title": "令牌失效时的登记", "state": "local", "failures": 0, "photos": 1}]
    page.wait_for_timeout(1000)
    assert arrived(live_server, "令牌失效时的登记") == []

    sign_in_again(page, live_server.url)
    found = wait_for(lambda: arrived_with(live_server, "令牌失效时的登记", 1))
    assert found, arrived(live_server, "令牌失效时的登记")
    page.wait_for_timeout(1000)
    assert len(arrived(live_server, "令牌失效时的登记")) == 1


def gateway_to_login(server) -> dict:
    """A gateway in front of the app that ends the session at the outbox's first new entry and, until
    the user signs in again, sends every outbox request to the login page (302)."""
    app = server.app.wsgi_app
    gateway = {"on": False, "redirected": 0}

    def middleware(environ, start_response):
        outbox_request = environ.get("HTTP_X_REQUESTED_WITH") == "qmonth-upload"
        if (not gateway["on"] and not gateway["redirected"] and outbox_request
                and environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/activities/quick"):
            gateway["on"] = True
            server.app.config["CLOCK_OFFSET"] += timedelta(hours=3)  # the session is over
        if gateway["on"] and environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/login":
            gateway["on"] = False
        if gateway["on"] and outbox_request and environ["PATH_INFO"] != "/login":
            gateway["redirected"] += 1
            start_response("302 Found", [("Location", "/login?next=/activities/quick"), ("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)

    server.app.wsgi_app = middleware
    return gateway


def test_a_request_redirected_to_the_login_page_holds_the_entry_until_login(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    gateway = gateway_to_login(live_server)
    quick_entry(page, "被转到登录页的登记", photos=2)
    assert wait_until(page, f"document.querySelector('#outbox-alert').textContent.includes({RELOGIN!r})")
    assert gateway["redirected"] >= 1
    entry = entry_of(page, "被转到登录页的登记")
    assert entry["state"] == "local" and entry["status"] == "仅在本机" and "服务器拒绝" not in entry["text"]
    assert stored(page) == [{"title": "被转到登录页的登记", "state": "local", "failures": 0, "photos": 2}]
    assert arrived(live_server, "被转到登录页的登记") == []

    sign_in_again(page, live_server.url)
    assert page.url == f"{live_server.url}/activities/quick" and not gateway["on"]
    found = wait_for(lambda: arrived_with(live_server, "被转到登录页的登记", 2))
    assert found, arrived(live_server, "被转到登录页的登记")
    assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")
    assert not page.is_visible("#outbox-alert")
    page.wait_for_timeout(1000)
    assert len(arrived(live_server, "被转到登录页的登记")) == 1


def test_the_lost_answer_to_a_saved_entry_does_not_double_it(live_server, page_at):
    link = WeakLink(live_server.server_port, up_bps=20_000_000, down_bps=20_000_000, rtt_ms=10,
                    drop_entry_answer=True)
    try:
        page = page_at(390, 844)
        log_in(page, link.url)
        page.goto(f"{link.url}/activities/quick")
        quick_entry(page, "应答丢失的登记", photos=2)
        found = wait_for(lambda: arrived_with(live_server, "应答丢失的登记", 2), timeout_s=60)
        assert found, (arrived(live_server, "应答丢失的登记"), outbox(page))
        assert link.entry_answers_dropped == 1 and link.resets == 1
        assert found[0][1] == ["IMG_0.jpg", "IMG_1.jpg"]
        assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")
        # Sent again within the run (the client id made the repeat "already received"), not left to
        # the outbox's 60-second timer: no round ended with the entry failed.
        assert [entry["failures"] for entry in stored(page)] == [0]
        page.wait_for_timeout(1000)
        assert len(arrived(live_server, "应答丢失的登记")) == 1
    finally:
        link.close()


def test_quick_entry_names_the_empty_fields_once_and_focuses_the_first(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    page.fill("#participants", "80")
    for _ in range(2):  # the second tap repeats nothing
        page.click("button.button-large")
        assert page.locator("#form-notice").count() == 1
        assert page.inner_text("#form-notice") == "请填写：活动类型、活动名称。"
    assert page.evaluate("document.activeElement.id") == "kind"
    assert page.inner_text("#err-kind") == "请选择活动类型。" and page.inner_text("#err-title") == "请填写活动名称。"
    box = page.locator("#form-notice").bounding_box()
    assert box and 0 <= box["y"] < 844  # in view on the phone
    assert outbox(page) == []

    page.select_option("#kind", "site_tour")
    page.fill("#participants", "八十")
    page.click("button.button-large")
    assert page.inner_text("#form-notice") == "请修改以下内容后再保存：活动名称、参与人次。"
    assert page.evaluate("document.activeElement.id") == "title"
    assert page.inner_text("#err-kind") == ""

    page.fill("#participants", "80")
    page.fill("#title", "自查后保存的登记")
    page.click("button.button-large")
    assert wait_until(page, "!document.querySelector('#form-notice')")
    assert wait_for(lambda: arrived_with(live_server, "自查后保存的登记", 0))
