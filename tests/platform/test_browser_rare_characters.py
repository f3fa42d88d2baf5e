"""Real Chromium: Han beyond GBK on screen. This machine's system fonts (Noto CJK) have no glyph
for 𪚥 or 𠮷 (CJK Ext B), as many desktops do not; the pages fall back to the vendored faces,
and fetch one only for a page that holds a character of its range."""
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Unit

from tests.conftest import browser_login

RARE_NAME = "𪚥𠮷区住房城乡建设局"


def face_states(page) -> dict[str, str]:
    """Each vendored extension face's state once the page's fonts have settled."""
    return page.evaluate("""async () => {
        await document.fonts.ready;
        const states = {};
        for (const face of document.fonts) {
            if (face.family.startsWith("qm-ext")) states[face.family] = face.status;
        }
        return states;
    }""")


def test_a_name_beyond_gbk_is_drawn_with_the_vendored_face(app, live_server, page_at):
    unit = db.session.scalar(select(Unit).where(Unit.code == "jinan-lixia-zj"))
    unit.name = RARE_NAME
    db.session.commit()

    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-lixia-zj")
    assert RARE_NAME in page.locator(".whoami").inner_text()
    states = face_states(page)
    assert states["qm-ext-b"] == "loaded"  # fetched for 𪚥 and 𠮷
    assert states["qm-ext-a"] == "unloaded" and states["qm-ext-g"] == "unloaded"  # nothing of theirs here
    # Bold text too (the unit's name on the home page): drawn from the vendored face, not as the
    # system face's empty box.
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    name = cdp.send("DOM.querySelector", {"nodeId": root, "selector": ".unit-name"})["nodeId"]
    assert page.locator(".unit-name").inner_text() == RARE_NAME
    used = {font["familyName"]: font["glyphCount"]
            for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": name})["fonts"]}
    assert used.get("HanaMinB QM Ext") == 2, used  # 𪚥 and 𠮷
    # Laid out as full-width Han characters, as wide as a common one.
    widths = page.evaluate("""() => {
        const probe = document.createElement("span");
        probe.style.fontSize = "40px";
        document.body.append(probe);
        const width = (text) => { probe.textContent = text; return probe.getBoundingClientRect().width; };
        return [width("𪚥"), width("𠮷"), width("质")];
    }""")
    rare, other_rare, common = widths
    assert abs(rare - common) < 2 and abs(other_rare - common) < 2, widths
    assert page.console_errors == []


def test_a_page_without_such_characters_fetches_no_extension_face(live_server, page_at):
    page = page_at(1280, 800)
    browser_login(page, live_server, "jinan-zj")
    assert set(face_states(page).values()) == {"unloaded"}
