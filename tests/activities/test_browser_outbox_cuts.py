"""Real Chromium through a relay that resets each photo's upload once mid-body and once more after
its last byte, before the answer (real TCP, not CDP's offline switch): quick entry's outbox
resumes each photo from the bytes the server kept, within seconds rather than on its 30-second
timer, learns that the last piece arrived, and every photo arrives once."""
import time

from tests.activities.outbox_support import (
    arrived, arrived_with, entry_of, log_in, quick_entry, wait_for, wait_until,
)
from tests.photos.weak_link import WeakLink

FAILED_RUNS = """() => new Promise((resolve, reject) => {
  const opened = indexedDB.open("qmonth-outbox");
  opened.onerror = () => reject(opened.error);
  opened.onsuccess = () => {
    const all = opened.result.transaction("entries").objectStore("entries").getAll();
    all.onsuccess = () => resolve(all.result.map(entry => entry.failures || 0));
  };
})"""
CUT_LOSS_BYTES = 16 * 1024  # qmonth/photos/resumable.py: a cut loses at most the piece being read


def test_each_photo_cut_mid_upload_and_its_answer_lost_arrives_once(live_server, page_at):
    link = WeakLink(live_server.server_port, up_bps=20_000_000, down_bps=20_000_000, rtt_ms=10, cut_fraction=0.4,
                    drop_last_answer=True)
    try:
        page = page_at(390, 844)
        log_in(page, link.url)
        page.goto(f"{link.url}/activities/quick")
        quick_entry(page, "断点续传的观摩会", photos=2)
        saved = time.monotonic()
        found = wait_for(lambda: arrived_with(live_server, "断点续传的观摩会", 2), timeout_s=90)
        took = time.monotonic() - saved
        assert found, arrived(live_server, "断点续传的观摩会")
        assert found[0][1] == ["IMG_0.jpg", "IMG_1.jpg"]
        assert wait_until(page, "Array.from(document.querySelectorAll('.outbox-entry')).some("
                                "e => e.dataset.state === 'delivered')")
        photos = list(link.photos.values())
        assert len(photos) == 2 and link.resets == 4
        for photo in photos:
            assert len(photo.cuts) == 1 and photo.answers_dropped == 1, photo
            # Resumed, not restarted: the bytes sent again after the cut are at most what the
            # server was still reading when it broke, not the cut part of the photo again.
            assert photo.body <= photo.length + CUT_LOSS_BYTES, photo
        # Tried again within the run (after a second or two), not left to the outbox's timer
        # (30 s, then 60 s): no run of the outbox ended with the entry failed.
        assert page.evaluate(FAILED_RUNS) == [0], took
        assert entry_of(page, "断点续传的观摩会")["status"].startswith("已送达（")
        page.wait_for_timeout(1000)  # a late repeat would land now
        assert len(arrived(live_server, "断点续传的观摩会")) == 1
        assert page.console_errors == [] or all("Failed to load resource" in e or "net::" in e
                                                 for e in page.console_errors), page.console_errors
    finally:
        link.close()
