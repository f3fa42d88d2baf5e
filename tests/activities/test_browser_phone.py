"""Real Chromium at 390 x 844, the reporter's phone on a site: the header, the menu, tap targets,
a refused submit, thumbnails that failed to load, upload progress and the report preview."""
import re

import pytest

from qmonth.extensions import db
from qmonth.photos.services import add_photo

from tests import photo_samples as samples
from tests.conftest import browser_login
from tests.helpers import assert_fits_width, user as user_named

PHONE = (390, 844)

# Every tap target the user can see: links, buttons, selects, text inputs, and a checkbox by the row
# (li) or label that holds it (the row is what a finger hits).
TAP_TARGETS = """() => {
  const small = [];
  for (const el of document.querySelectorAll('a, button, select, summary, input, textarea, label')) {
    if (el.tagName === 'INPUT' && ['hidden', 'checkbox', 'radio', 'file'].includes(el.type)) continue;
    if (el.tagName === 'LABEL' && !(el.control && ['checkbox', 'radio', 'file'].includes(el.control.type))) continue;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (!rect.width || !rect.height || style.visibility === 'hidden' || el.classList.contains('sr-only')) continue;
    const box = el.tagName === 'LABEL' && el.closest('li') ? el.closest('li').getBoundingClientRect() : rect;
    if (box.width < 43.5 || box.height < 43.5) {
      small.push(`${el.tagName} "${(el.textContent || el.name || '').trim().replace(/\\s+/g, ' ').slice(0, 20)}" `
                 + `${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}"""


def wait_until(page, script: str, timeout_ms: int = 15000) -> bool:
    # Poll from Python: wait_for_function evaluates strings, which the page's CSP forbids.
    for _ in range(timeout_ms // 100):
        if page.evaluate(script):
            return True
        page.wait_for_timeout(100)
    return bool(page.evaluate(script))


def photo_on(activity, name="site.jpg", seed=1):
    """A stored photo on `activity`, as an upload would leave it."""
    data = samples.encode(samples.photo_like(800, 600, seed=seed), "JPEG", quality=85)
    photo = add_photo(stream=samples.named_stream(data, name), filename=name, by=user_named("jinan-zj"),
                      activity=activity)
    db.session.commit()
    return photo


def test_the_header_is_small_and_every_menu_item_is_reachable(live_server, page_at):
    page = page_at(*PHONE)
    browser_login(page, live_server, "jinan-zj-admin")
    for path in ("/", "/activities/", "/activities/quick", "/reports/jinan-zj"):
        page.goto(live_server.url + path)
        header = page.locator("header.topbar").bounding_box()
        assert header["height"] <= 0.15 * PHONE[1], path
        assert_fits_width(page, PHONE[0])
    page.goto(live_server.url + "/")
    assert not page.locator("#mainnav").is_visible()
    page.click("label.nav-toggle-label")
    assert "济南市住房和城乡建设局" in page.inner_text(".whoami")
    for label in ("首页", "活动通知", "活动填报", "总结报告", "账号管理", "修改密码", "退出"):
        item = page.locator("#mainnav").get_by_text(label, exact=True)
        box = item.bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE[0] and box["y"] + box["height"] <= PHONE[1], label
        assert box["height"] >= 44, label
        # Nothing lies on top of it: a tap at its centre reaches it.
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).textContent.trim()",
                            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert hit == label
    page.locator("#mainnav").get_by_text("账号管理", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/users$"))
    page.click("label.nav-toggle-label")
    page.locator("#mainnav").get_by_text("退出", exact=True).click()
    page.wait_for_url(re.compile(r"/login"))
    assert page.locator("#username").is_visible()


def test_every_link_and_button_of_the_phone_pages_is_at_least_44_px(live_server, page_at, make_activity):
    publicity = make_activity(kind="publicity", tasks=(1,), title="质量月宣传进工地")
    photo_on(publicity)
    page = page_at(*PHONE)
    browser_login(page, live_server, "jinan-zj-admin")
    pages = ["/", "/activities/", "/activities/quick", "/activities/new", f"/activities/{publicity.id}",
             f"/activities/{publicity.id}/edit", "/reports/jinan-zj", "/account/password", "/admin/users", "/campaign"]
    for path in pages:
        page.goto(live_server.url + path)
        page.click("label.nav-toggle-label")  # the opened menu counts too
        assert page.evaluate(TAP_TARGETS) == [], path
    assert page.console_errors == []


def test_a_refused_submit_brings_the_first_flagged_field_into_view(live_server, page_at):
    page = page_at(*PHONE)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    page.fill("#title", "质量安全讲堂")
    page.select_option("#kind", "training")
    page.check("input[name=tasks][value='2']")
    page.fill("#starts_on", "2024-09-12")
    page.fill("#ends_on", "2024-09-12")
    page.fill("#county", "历下区")
    page.fill("#participants", "60")
    page.fill("#contact_name", "")
    page.check("#no_fee_declared")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    notice = page.inner_text("#form-notice")
    assert notice == "报送前请补全：联系人、活动内容。也可以先保存草稿。"
    assert wait_until(page, "document.activeElement && document.activeElement.id === 'contact_name'"), page.evaluate(
        "[document.activeElement.id, Array.from(document.querySelectorAll('.has-error')).map(e => e.id)]")
    box = page.locator("#contact_name").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE[1]  # in view, not 1,600 px below
    assert page.input_value("#title") == "质量安全讲堂"


def test_a_thumbnail_that_failed_to_load_is_loaded_again(live_server, page_at, make_activity):
    activity = make_activity(title="断网后的缩略图")
    photo_on(activity)
    page = page_at(*PHONE, service_workers="block")
    browser_login(page, live_server, "jinan-zj")
    failures = {"left": 2}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/photos/\d+/thumb\.jpg.*"), flaky)
    page.goto(f"{live_server.url}/activities/{activity.id}")
    image = "document.querySelector('#media .photo-card img')"
    assert wait_until(page, f"{image}.complete && {image}.naturalWidth > 0")
    assert failures["left"] == 0
    assert page.evaluate(f"{image}.classList.contains('is-broken')") is False


def test_upload_progress_stays_in_view_while_the_page_is_scrolled(live_server, page_at):
    page = page_at(*PHONE, service_workers="block")
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")  # the form's uploader; quick entry has the outbox
    held, released = [], []

    def hold(route):  # the first upload waits until the dock has been looked at; the rest go through
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r".*/photo-uploads$"), hold)  # each photo's resumable upload begins here
    photos = [{"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg",
               "buffer": samples.encode(samples.photo_like(1200, 900, seed=i), "JPEG", quality=85)} for i in range(3)]
    page.set_input_files("#media input[type=file]", files=photos)
    dock = page.locator(".upload-dock")
    dock.wait_for()
    for scroll in (0, 400, 10000):
        page.evaluate(f"window.scrollTo(0, {scroll})")
        box = dock.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE[1], scroll
    assert "IMG_0.jpg" in dock.inner_text() and "另有 2 个待上传" in dock.inner_text()
    released.append(True)
    for route in held:
        route.continue_()
    page.locator("#photo-list .photo-card").nth(2).wait_for(timeout=30000)
    assert not dock.is_visible()  # gone once everything has arrived


@pytest.mark.parametrize("width, shown, hidden", [(390, "#light-preview-link", "a.wide-only"),
                                                  (1280, "a.wide-only", "#light-preview-link")])
def test_the_phone_report_preview_does_not_pull_the_print_fonts(live_server, page_at, width, shown, hidden):
    page = page_at(width, 844)
    browser_login(page, live_server, "jinan-zj-admin")
    page.goto(f"{live_server.url}/reports/jinan-zj")
    assert page.locator(shown).is_visible() and not page.locator(hidden).is_visible()
    assert page.locator("#pdf-link").is_visible()
    if width != 390:
        return
    loaded = {}
    page.on("response", lambda response: loaded.__setitem__(response.url, len(response.body())))
    page.goto(live_server.url + page.get_attribute(shown, "href"), wait_until="networkidle")
    assert "简版预览" in page.inner_text(".light-preview-note")
    assert "总结报告" in page.inner_text("body")
    assert not [url for url in loaded if "/fonts/" in url or url.endswith("fonts.css")]
    assert sum(loaded.values()) < 200 * 1024


def test_the_full_preview_still_uses_the_print_fonts(client, login_as):
    login_as("jinan-zj-admin")
    assert "css/fonts.css" in client.get("/reports/jinan-zj/preview").get_data(as_text=True)
    light = client.get("/reports/jinan-zj/preview?light=1").get_data(as_text=True)
    assert "css/fonts.css" not in light and "简版预览" in light
