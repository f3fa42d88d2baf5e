"""A TCP relay between a client and a live server that breaks connections on purpose.

CDP's offline emulation does not break a transfer already in flight, so it cannot show what
a retry does; this relay can. Each new connection takes the next planned action:

- "pass": bytes flow both ways untouched;
- ("cut_request", n): the first n bytes from the client reach the server, then both sides
  are reset (RST) mid-body;
- "drop_answer": the whole request reaches the server, which answers; the answer is thrown
  away and the client's connection reset, as when a phone loses the network just then.

Clients send `Connection: close` so that each request is one connection (one action).
"""
from __future__ import annotations

import select
import socket
import struct
import threading
import time


def reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN (SO_LINGER with a zero timeout)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _pump(source: socket.socket, target: socket.socket, limit: int | None = None) -> int:
    """Copy until the source ends (or `limit` bytes went through); returns the bytes copied."""
    copied = 0
    try:
        while limit is None or copied < limit:
            data = source.recv(65536 if limit is None else min(65536, limit - copied))
            if not data:
                break
            target.sendall(data)
            copied += len(data)
        if limit is None:
            target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return copied


class LoopbackRelay:
    """A listener on a loopback port that hands each accepted connection to `_connect` in a
    thread of its own; the relays below decide what happens to its bytes."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stopped = False

    def start(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stopped = True
        self.listener.close()

    def _serve(self) -> None:
        while not self._stopped:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        raise NotImplementedError


class ResettingRelay(LoopbackRelay):
    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.plan: list = []
        self.log: list[str] = []
        self.cut_after: list[int] = []  # bytes forwarded by each cut_request
        self._lock = threading.Lock()
        self.start()

    def then(self, *actions) -> ResettingRelay:
        with self._lock:
            self.plan.extend(actions)
        return self

    def _connect(self, client: socket.socket) -> None:
        with self._lock:
            action = self.plan.pop(0) if self.plan else "pass"
        upstream = socket.create_connection(self.upstream)
        self.log.append(action if isinstance(action, str) else action[0])
        if action == "pass":
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join(60)
            client.close()
            upstream.close()
        elif action == "drop_answer":
            # One thread watches both sockets: a socket another thread is blocked on would not
            # send its RST when closed.
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 60)
                if upstream in readable or not readable:
                    break  # the server has answered: the request was handled in full
                try:
                    data = client.recv(65536)
                    if data:
                        upstream.sendall(data)
                        continue
                except OSError:
                    pass
                break
            reset(client)
            upstream.close()
        else:
            _kind, limit = action
            copied = _pump(client, upstream, limit)
            self.cut_after.append(copied)
            time.sleep(0.3)  # let the server read what arrived before the connection breaks
            reset(upstream)
            reset(client)
