"""A weak mobile link as a TCP relay, which can also cut each photo's upload once mid-transfer.

Used by bench/bench_browser_upload.py --cut and tests/activities/test_browser_outbox_cuts.py.
Chromium talks to the relay, the relay to the app:

- up and down rates are token buckets shared by all connections (one radio link), and each
  direction adds half the round trip as delay, so the link is real TCP for the browser (its
  send buffer fills, a reset arrives in the middle of a body);
- the client's bytes are read as HTTP requests (head, then Content-Length bytes of body), so
  that one request can be cut even on a kept-alive connection: the first time the resumable
  upload of a photo (PATCH /photo-uploads/<token>) reaches `cut_fraction` of the photo's length,
  the bytes up to that point reach the server and both sides are then reset (RST);
- with `drop_last_answer`, the PATCH that carries a photo's last byte reaches the server whole,
  the server answers (the photo is made), and the answer is thrown away and both sides reset,
  as when the phone loses the network just then;
- with `drop_entry_answer`, the same for the first new entry (quick entry's `POST
  /activities/quick` from the outbox): the server saves it, its answer is lost.

tests/photos/relay.py (ResettingRelay) takes one planned action per *connection*, for clients
that send `Connection: close`; a browser's fetch cannot (a forbidden header) and reuses
connections, so which connection carries a photo's bytes is not known in advance. This relay
decides per request instead and reuses ResettingRelay's reset().
"""
from __future__ import annotations

import queue
import re
import socket
import threading
import time
from dataclasses import dataclass, field

from tests.photos.relay import LoopbackRelay, reset

READ_BYTES = 4096
CREATE_LENGTH = re.compile(rb'name="length"\r\n\r\n(\d+)\r\n')


class Bucket:
    """A link direction: bytes go out one after another at `rate` bytes a second."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.free_at = 0.0
        self._lock = threading.Lock()

    def send(self, size: int) -> float:
        """Reserve the link for `size` bytes; returns when they will have left."""
        with self._lock:
            start = max(time.perf_counter(), self.free_at)
            self.free_at = start + size / self.rate
            return self.free_at


@dataclass
class Photo:
    """What the link saw of one photo's resumable upload."""
    path: str
    length: int
    wire: int = 0          # bytes of every PATCH for it that went up (heads and bodies, cut or not)
    body: int = 0          # body bytes that went up (the photo's own bytes, counted as often as sent)
    requests: int = 0
    cuts: list[int] = field(default_factory=list)  # the absolute offset where each cut fell
    answers_dropped: int = 0


@dataclass
class _Request:
    head: bytearray = field(default_factory=bytearray)
    method: str = ""
    path: str = ""
    left: int = 0          # body bytes still to come
    sent: int = 0          # body bytes passed so far
    cut_at: int | None = None
    create: bytearray | None = None
    drop_answer: bool = False  # the server's answer to this request is to be lost


class WeakLink(LoopbackRelay):
    def __init__(self, upstream_port: int, *, up_bps: float, down_bps: float, rtt_ms: float,
                 cut_fraction: float = 0.0, drop_last_answer: bool = False,
                 drop_entry_answer: bool = False) -> None:
        super().__init__(upstream_port)
        self.up, self.down = Bucket(up_bps / 8), Bucket(down_bps / 8)
        self.delay = rtt_ms / 2000
        self.cut_fraction = cut_fraction
        self.drop_last_answer = drop_last_answer
        self.drop_entry_answer = drop_entry_answer
        self.entry_answers_dropped = 0
        self.photos: dict[str, Photo] = {}
        self.lengths: list[int] = []    # lengths announced by upload creations not yet seen in a PATCH
        self.create_wire = 0            # bytes of the POSTs that create uploads
        self.up_bytes = self.down_bytes = 0
        self.resets = 0
        self._lock = threading.Lock()
        self.start()

    def _connect(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        broken = threading.Event()
        dropping = threading.Event()  # a request whose answer is to be lost went up whole
        for source, target, up in ((client, upstream, True), (upstream, client, False)):
            line: queue.Queue = queue.Queue()
            threading.Thread(target=self._read, args=(source, line, up, broken, dropping), daemon=True).start()
            threading.Thread(target=self._deliver, args=(line, target, (client, upstream), broken),
                             daemon=True).start()

    def _read(self, source, line: queue.Queue, up: bool, broken: threading.Event,
              dropping: threading.Event) -> None:
        """Take bytes off the sender as fast as the link carries them; queue them with their arrival time."""
        bucket = self.up if up else self.down
        request = _Request()
        while not broken.is_set():
            try:
                data = source.recv(READ_BYTES)
            except OSError:
                data = b""
            if not data:
                if not broken.is_set():
                    line.put((0.0, None))
                return
            cut = False
            if up:
                data, cut = self._watch(request, data)
                if request.drop_answer and not request.left:
                    dropping.set()
            elif dropping.is_set():  # the server answered the request whose answer is lost
                line.put((time.perf_counter(), "reset"))
                return
            gone = bucket.send(len(data))
            with self._lock:
                if up:
                    self.up_bytes += len(data)
                else:
                    self.down_bytes += len(data)
            time.sleep(max(0.0, gone - time.perf_counter()))
            line.put((gone + self.delay, data))
            if cut:
                line.put((gone + self.delay, "reset"))
                return

    def _deliver(self, line: queue.Queue, target, pair, broken: threading.Event) -> None:
        while True:
            due, data = line.get()
            time.sleep(max(0.0, due - time.perf_counter()))
            if data == "reset":
                time.sleep(0.3)  # let the server read what arrived before the connection breaks
                broken.set()
                with self._lock:
                    self.resets += 1
                # A socket another thread is blocked on would not send its RST when closed: wake
                # the readers first (SHUT_RD sends nothing), then close with RST.
                for sock in pair:
                    try:
                        sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass
                time.sleep(0.05)
                for sock in pair:
                    reset(sock)
                return
            if data is None:
                try:
                    target.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                target.sendall(data)
            except OSError:
                broken.set()
                return

    # Requests from the browser -------------------------------------------------------------------

    def _watch(self, request: _Request, data: bytes) -> tuple[bytes, bool]:
        """Follow the request boundaries in `data`; returns the bytes to pass and whether to cut after them."""
        out = bytearray()
        pos = 0
        while pos < len(data):
            if request.left:
                size = min(request.left, len(data) - pos)
                cut = request.cut_at is not None and request.sent + size >= request.cut_at
                if cut:
                    size = request.cut_at - request.sent
                piece = data[pos:pos + size]
                out += piece
                pos += size
                request.left -= size
                request.sent += size
                self._count_body(request, piece)
                if cut:
                    return bytes(out), True
                continue
            before = len(request.head)
            request.head += data[pos:]
            end = request.head.find(b"\r\n\r\n")
            if end < 0:
                out += data[pos:]
                break
            used = end + 4 - before
            out += data[pos:pos + used]
            pos += used
            self._begin(request, bytes(request.head[:end + 4]))
        return bytes(out), False

    def _begin(self, request: _Request, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        headers = {name.strip().lower(): value.strip() for name, _, value in
                   (line.partition(":") for line in lines[1:] if ":" in line)}
        request.head = bytearray()
        request.method, request.path = method, path
        request.left = int(headers.get("content-length") or 0)
        request.sent = 0
        request.cut_at = None
        request.drop_answer = False
        request.create = bytearray() if method == "POST" and path.endswith("/photo-uploads") else None
        with self._lock:
            if (self.drop_entry_answer and not self.entry_answers_dropped and method == "POST"
                    and path.split("?")[0] == "/activities/quick"
                    and headers.get("x-requested-with") == "qmonth-upload"):
                request.drop_answer = True
                self.entry_answers_dropped += 1
            if request.create is not None:
                self.create_wire += len(head)
            if method != "PATCH" or "/photo-uploads/" not in path:
                return
            photo = self.photos.get(path)
            if photo is None:
                photo = self.photos[path] = Photo(path, self.lengths.pop(0) if self.lengths else 0)
            photo.wire += len(head)
            photo.requests += 1
            offset = int(headers.get("upload-offset") or 0)
            if self.cut_fraction and not photo.cuts and photo.length:
                at = int(photo.length * self.cut_fraction) - offset
                if 0 < at < request.left:
                    request.cut_at = at
                    photo.cuts.append(offset + at)
            if (self.drop_last_answer and not photo.answers_dropped and photo.length
                    and request.cut_at is None and offset + request.left == photo.length):
                request.drop_answer = True
                photo.answers_dropped += 1

    def _count_body(self, request: _Request, piece: bytes) -> None:
        with self._lock:
            if request.create is not None:
                self.create_wire += len(piece)
                request.create += piece
                if not request.left:
                    found = CREATE_LENGTH.search(bytes(request.create))
                    if found:
                        self.lengths.append(int(found.group(1)))
            elif request.method == "PATCH" and request.path in self.photos:
                photo = self.photos[request.path]
                photo.wire += len(piece)
                photo.body += len(piece)
