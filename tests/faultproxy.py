"""A TCP proxy in front of the emulator that can stop answering or answer a byte at a time.

The emulator's own fault injector fails requests the way AWS does (throttling, access denied);
these are the faults of the network between: an endpoint (a broken VPC endpoint, a firewall
that drops packets) that accepts the connection and never answers (``black_hole``), or one that
answers a byte every ``drip_seconds`` (``drip``), which no per-read timeout ever catches. The
mode applies to connections already open too (botocore keeps its connections alive).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Literal

Mode = Literal["pass", "black_hole", "drip"]


class FaultProxy:
    """``127.0.0.1:PORT`` forwarding to ``upstream`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, upstream: str, *, drip_seconds: float = 1.0) -> None:
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        self.upstream = (host, int(port))
        self.mode: Mode = "pass"
        self.drip_seconds = drip_seconds
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def __enter__(self) -> FaultProxy:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for sock in [self._server, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _spawn(self, target, *args) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.upstream)
            for sock in (client, upstream):
                sock.settimeout(0.2)
                self._sockets.append(sock)
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, response: bool) -> None:
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                if not response and self.mode == "black_hole":
                    continue  # the request goes nowhere: no answer ever comes
                if response and self.mode == "drip":
                    for i in range(len(data)):
                        if self._stop.wait(self.drip_seconds):
                            return
                        dst.sendall(data[i : i + 1])
                    continue
                dst.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` in real time (for threads, not Pilot)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
