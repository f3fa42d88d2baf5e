"""Real Chromium, the reporter's phone: entries kept in the outbox (IndexedDB) survive no network,
a killed browser, a service-worker update and an expired session, and arrive exactly once."""
import os
import shutil
import subprocess
from datetime import timedelta

import pytest

from tests.activities.outbox_support import (
    HOST, arrived, arrived_with, entry_of, hold_sending, kill_browser, launch_phone, log_in, outbox, quick_entry, serve,
    wait_for, wait_until,
)

SHELL_READY = "document.querySelector('#outbox').dataset.offlineOpen === 'yes'"


def test_an_entry_made_offline_survives_a_killed_browser_and_arrives_once_with_its_photos(
        live_server, playwright_driver, tmp_path):
    profile = tmp_path / "phone-profile"
    context, close = launch_phone(playwright_driver, profile)
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    assert wait_until(page, SHELL_READY)  # the service worker holds the page (127.0.0.1 is secure)

    context.set_offline(True)
    # Really no network: a page the worker does not keep cannot be opened (in another tab: Chromium
    # will not leave its own error page for a worker's answer)...
    other = context.new_page()
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        other.goto(f"{live_server.url}/activities/")
    other.close()
    # ...but quick entry opens from the worker's cache, and the entry is made there.
    page.goto(f"{live_server.url}/activities/quick")
    assert page.inner_text("h1") == "现场快速登记"
    quick_entry(page, "断网时登记的观摩会", photos=3)
    entry = entry_of(page, "断网时登记的观摩会")
    assert entry["state"] == "local" and entry["status"] == "仅在本机"
    assert arrived(live_server, "断网时登记的观摩会") == []

    kill_browser(profile)
    try:
        close()
    except Exception:
        pass  # the browser is already gone

    context, close = launch_phone(playwright_driver, profile)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/activities/quick")
        if "/login" in page.url:  # the session cookie died with the browser: sign in, sending resumes
            log_in(page, live_server.url)
            page.goto(f"{live_server.url}/activities/quick")
        found = wait_for(lambda: arrived_with(live_server, "断网时登记的观摩会", 3), timeout_s=60)
        assert found, arrived(live_server, "断网时登记的观摩会")
        assert found[0][1] == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
        assert wait_until(page, "Array.from(document.querySelectorAll('.outbox-entry')).some("
                                "e => e.dataset.state === 'delivered' && e.textContent.includes('已送达（'))")
        page.wait_for_timeout(1000)  # any late repeat would land now
        assert len(arrived(live_server, "断网时登记的观摩会")) == 1
    finally:
        close()


def shell_caches(page) -> list[str]:
    return page.evaluate("caches.keys()")


def test_a_service_worker_update_with_an_entry_queued_strands_nothing(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    assert wait_until(page, SHELL_READY)
    old = shell_caches(page)
    assert len(old) == 1 and old[0].startswith("qmonth-shell-")

    page.context.set_offline(True)
    quick_entry(page, "升级前排队的登记", photos=2)
    assert entry_of(page, "升级前排队的登记")["state"] == "local"

    # A deploy: the shell changes, so /sw.js changes. Sending waits until the new worker is in.
    live_server.app.config["SERVICE_WORKER_BUILD"] = "deploy-2"
    held = hold_sending(live_server)
    page.context.set_offline(False)
    page.reload()
    assert wait_until(page, f"caches.keys().then(k => k.length === 1 && k[0] !== {old[0]!r})", timeout_s=30), \
        shell_caches(page)
    new_version = page.evaluate("navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL")
    assert new_version.endswith("/sw.js")
    assert entry_of(page, "升级前排队的登记")["state"] == "local"  # still queued, under the new worker
    assert arrived(live_server, "升级前排队的登记") == []

    held["on"] = False
    page.click("#outbox-send")
    found = wait_for(lambda: arrived_with(live_server, "升级前排队的登记", 2))
    assert found, (arrived(live_server, "升级前排队的登记"), outbox(page), page.console_errors,
                   page.inner_text("#outbox"))
    assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")
    # Requests that met no network or the held server are expected; nothing else may fail.
    assert [error for error in page.console_errors if not error.startswith("Failed to load resource")] == []


def test_an_expired_session_holds_the_outbox_until_login_and_nothing_is_doubled(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    # The entry goes in; before its first photo the session passes its idle limit (120 minutes).
    expired = {"done": False}
    app = live_server.app.wsgi_app

    def expire_at_first_photo(environ, start_response):
        if not expired["done"] and environ["PATH_INFO"].endswith("/photo-uploads"):
            expired["done"] = True
            live_server.app.config["CLOCK_OFFSET"] += timedelta(hours=3)
        return app(environ, start_response)

    live_server.app.wsgi_app = expire_at_first_photo
    quick_entry(page, "会话过期时的登记", photos=2)
    assert wait_until(page, "document.querySelector('#outbox-alert').textContent.includes("
                            "'登录已过期，重新登录后自动继续发送')")
    assert page.is_visible("#outbox-alert")
    entry = entry_of(page, "会话过期时的登记")
    assert entry["state"] == "sending" and entry["status"] == "上传中 0/2"
    assert [names for _id, names in arrived(live_server, "会话过期时的登记")] == [[]]

    page.click("#outbox-alert a")  # 重新登录
    page.wait_for_url("**/login**")
    page.fill("#username", "jinan-zj")
    page.fill("#password", "qmonth-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/activities/quick")
    found = wait_for(lambda: arrived_with(live_server, "会话过期时的登记", 2))
    assert found, arrived(live_server, "会话过期时的登记")
    assert wait_until(page, "document.querySelector('.outbox-entry').dataset.state === 'delivered'")
    assert not page.is_visible("#outbox-alert")
    page.wait_for_timeout(1000)
    assert len(arrived(live_server, "会话过期时的登记")) == 1
    assert len(arrived(live_server, "会话过期时的登记")[0][1]) == 2


def test_entries_wait_for_the_account_that_made_them(live_server, page_at):
    page = page_at(390, 844)
    log_in(page, live_server.url, "jinan-zj")
    page.goto(f"{live_server.url}/activities/quick")
    page.context.set_offline(True)
    quick_entry(page, "甲账号的登记", photos=1)
    # Before it goes, the phone changes hands: signed out, another account of another bureau.
    held = hold_sending(live_server)
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/")
    page.click("label.nav-toggle-label")
    page.locator("#mainnav").get_by_text("退出", exact=True).click()
    page.wait_for_url("**/login**")
    assert wait_until(page, "(document.querySelector('#outbox-banner') || {}).textContent === "
                            "'本机有 1 条现场登记尚未发送，登录后自动继续发送。'")
    held["on"] = False
    log_in(page, live_server.url, "qingdao-zj")
    page.goto(f"{live_server.url}/activities/quick")
    assert wait_until(page, "document.querySelector('.outbox-entry') && "
                            "document.querySelector('.outbox-entry').textContent.includes('该账号登录后发送')")
    page.wait_for_timeout(1500)
    assert arrived(live_server, "甲账号的登记") == []
    page.click("label.nav-toggle-label")
    page.locator("#mainnav").get_by_text("退出", exact=True).click()
    log_in(page, live_server.url, "jinan-zj")
    found = wait_for(lambda: arrived_with(live_server, "甲账号的登记", 1))
    assert found
    with live_server.app.app_context():
        from qmonth.extensions import db
        from qmonth.models import Activity

        assert db.session.get(Activity, found[0][0]).unit.code == "jinan-zj"


def test_over_plain_http_there_is_no_service_worker_the_page_says_so_and_the_outbox_still_sends(
        live_server, playwright_driver):
    # A host name, not 127.0.0.1 (which browsers treat as secure): what a phone on http://10.x gets.
    base = f"http://{HOST}:{live_server.server_port}"
    context, close = launch_phone(playwright_driver, extra_args=[f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                                                                 "--no-proxy-server"])
    try:
        page = context.new_page()
        log_in(page, base)
        page.goto(f"{base}/activities/quick")
        assert page.evaluate("window.isSecureContext") is False
        assert page.evaluate("'serviceWorker' in navigator") is False
        assert wait_until(page, "document.querySelector('#outbox').dataset.offlineOpen === 'no'")
        assert "当前不是 HTTPS 连接，断网时无法打开本页；已打开的本页断网时仍可登记，联网后自动发送，下次打开本站时也会继续发送。" \
            in page.inner_text("#outbox-notes")

        context.set_offline(True)
        quick_entry(page, "HTTP 下断网登记", photos=2)
        assert entry_of(page, "HTTP 下断网登记")["status"] == "仅在本机"
        page.close()  # the tab is closed before any signal comes back
        context.set_offline(False)
        page = context.new_page()  # the next visit sends it
        page.goto(f"{base}/")
        found = wait_for(lambda: arrived_with(live_server, "HTTP 下断网登记", 2))
        assert found, arrived(live_server, "HTTP 下断网登记")

        # And in a page left open: the entry goes when the network comes back (the online event).
        page.goto(f"{base}/activities/quick")
        context.set_offline(True)
        quick_entry(page, "HTTP 下恢复信号后发送", photos=1)
        context.set_offline(False)
        assert wait_for(lambda: arrived_with(live_server, "HTTP 下恢复信号后发送", 1))
        assert wait_until(page, "Array.from(document.querySelectorAll('.outbox-entry')).every("
                                "e => e.dataset.state === 'delivered')")
    finally:
        close()


def make_test_ca(folder):
    """A CA and a server certificate for HOST signed by it (PEM files): (ca, cert, key)."""
    from datetime import datetime, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qmonth test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def trusting_home(folder, ca_pem):
    """A HOME whose NSS database (what Chromium on Linux trusts) holds the test CA."""
    nssdb = folder / "home" / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "qmonth-test-ca", "-t", "C,,", "-i", str(ca_pem)],
                   check=True, capture_output=True)
    return folder / "home"


def test_over_https_with_a_trusted_certificate_quick_entry_opens_with_no_network(
        live_server, playwright_driver, tmp_path):
    if shutil.which("certutil") is None:
        pytest.fail("certutil is missing: scripts/test installs libnss3-tools")
    ca_pem, cert_pem, key_pem = make_test_ca(tmp_path)
    server, port = serve(live_server.app, ssl_context=(str(cert_pem), str(key_pem)))
    base = f"https://{HOST}:{port}"
    home = trusting_home(tmp_path, ca_pem)
    context, close = launch_phone(playwright_driver, extra_args=[f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                                                                 "--no-proxy-server"],
                                  env={**os.environ, "HOME": str(home)})
    try:
        page = context.new_page()
        log_in(page, base)  # no certificate error: the page loads at all only if the CA is trusted
        page.goto(f"{base}/activities/quick")
        assert page.evaluate("window.isSecureContext") is True
        assert wait_until(page, SHELL_READY, timeout_s=30)
        assert "本页已存入本机，断网时也能打开登记。" in page.inner_text("#outbox-notes")

        context.set_offline(True)
        other = context.new_page()
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            other.goto(f"{base}/activities/")  # really offline: a page the worker does not keep fails
        other.close()
        page.goto(f"{base}/activities/quick")
        assert page.inner_text("h1") == "现场快速登记"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        quick_entry(page, "HTTPS 下断网打开并登记", photos=1)
        context.set_offline(False)
        assert wait_for(lambda: arrived_with(live_server, "HTTPS 下断网打开并登记", 1))
    finally:
        close()
        server.shutdown()


def test_an_entry_recorded_before_the_deadline_that_arrives_after_it_is_kept_and_marked(live_server, page_at):
    from tests.helpers import set_clock

    with live_server.app.app_context():
        from tests.board.support import due

        deadline = due()
    set_clock(live_server.app, deadline - timedelta(hours=2))
    page = page_at(390, 844)
    page.clock.set_fixed_time(deadline - timedelta(hours=1))  # the phone's clock agrees with the server's
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/activities/quick")
    page.fill("#starts_on", "2024-09-28")
    page.context.set_offline(True)
    quick_entry(page, "截止前一小时的巡查", photos=1)
    # Two days without signal; the deadline passes (and the session ends with it).
    set_clock(live_server.app, deadline + timedelta(days=2))
    page.context.set_offline(False)
    page.click("#outbox-send")
    assert wait_until(page, "document.querySelector('#outbox-alert').textContent.includes('登录已过期')")
    log_in(page, live_server.url)
    found = wait_for(lambda: arrived_with(live_server, "截止前一小时的巡查", 1))
    assert found, arrived(live_server, "截止前一小时的巡查")
    page.goto(f"{live_server.url}/activities/")
    row = page.locator(f"#activity-{found[0][0]}")
    assert "截止前记录、截止后送达" in row.inner_text() and "草稿" in row.inner_text()
    page.goto(f"{live_server.url}/activities/{found[0][0]}")
    note = page.inner_text("#late-arrival")
    assert "如需报送，请联系上级单位开放补报。" in note
    assert page.locator("#media .photo-card img").count() == 1
    with live_server.app.app_context():
        from qmonth.extensions import db
        from qmonth.models import Activity

        kept = db.session.get(Activity, found[0][0])
        assert kept.arrived_late and kept.captured_at == deadline - timedelta(hours=1)
