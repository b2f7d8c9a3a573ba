"""Run a command in a pseudo-terminal and collect every byte it writes, as a terminal would see it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass, field


@dataclass
class PtyProcess:
    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)
    status: int | None = None

    def read_until(self, predicate, timeout: float) -> bool:
        """Read until ``predicate(bytes)`` is true or the process exits; True if the predicate held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(bytes(self.output)):
                return True
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.wait(timeout=max(0.0, deadline - time.monotonic()))
                    return predicate(bytes(self.output))
                self.output += chunk
            elif self.poll() is not None:
                self._drain()
                return predicate(bytes(self.output))
        return predicate(bytes(self.output))

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain()
            if self.poll() is not None:
                self._drain()
                return self.status
            time.sleep(0.02)
        return self.poll()

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def close(self) -> None:
        self.kill()
        self.wait(2)
        os.close(self.fd)


def wait_all(procs: list[PtyProcess], timeout: float) -> None:
    """Read every process's terminal at once until each has exited (or ``timeout`` passes).

    Waiting for one after the other left the others' writes blocked on a full terminal (a few
    KB) until their turn: processes started together then ran one at a time.
    """
    deadline = time.monotonic() + timeout
    running = {proc.fd: proc for proc in procs if proc.poll() is None}
    for proc in procs:
        if proc.fd not in running:
            proc._drain()
    while running and time.monotonic() < deadline:
        ready, _, _ = select.select(list(running), [], [], 0.05)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if chunk:
                running[fd].output += chunk
            else:  # the terminal closed: the process is exiting
                running.pop(fd).wait(max(0.0, deadline - time.monotonic()))
        for fd, proc in list(running.items()):
            if fd not in ready and proc.poll() is not None:
                proc._drain()  # what it wrote just before exiting
                del running[fd]
    for proc in running.values():  # out of time: whatever they wrote until now
        proc.poll()


def spawn(argv: list[str], env: dict[str, str], size: tuple[int, int] = (80, 24)) -> PtyProcess:
    cols, rows = size
    winsize = struct.pack("HHHH", rows, cols, 0, 0)
    # COLUMNS/LINES override the terminal's size (shutil.get_terminal_size reads them first);
    # something in a long test session exports them, and the app then lays out for 80x24.
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            # The size is set on the terminal before the program starts: set from the parent
            # after the fork, it raced the app's first look at its size on a loaded machine.
            fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
    return PtyProcess(pid, fd)


def hamari_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui", *args]
