"""The watchdog of ``cloudlease run``: it leads the command and ends its whole process group
when the supervisor says so, or dies.

``python -m cloudlease._watchdog FD PARENT GRACE DEADLINE_FILE -- CMD ARGS...`` is started by
the supervisor in a new session. It starts CMD as the leader of a new process group (so
``sh -c`` grandchildren are in it too), tells the supervisor ``started PID`` over the socket
FD, then watches three things:

- a line ``stop SECONDS`` on FD: end the group (TERM, then KILL after SECONDS);
- end of file on FD, or its parent-death signal (``PR_SET_PDEATHSIG`` on Linux), or a parent
  that is no longer PARENT: the supervisor is gone, so nothing renews the lease: end the group,
  with GRACE clamped to the deadline the supervisor last wrote to DEADLINE_FILE;
- the signals the supervisor forwards (TERM, INT, HUP, USR1, USR2): passed to the group; after
  TERM, INT or HUP the group is killed if it is still there GRACE seconds later.

When CMD exits, whatever is left of its group is ended too (nothing may act once the lease is
let go), and the watchdog exits with CMD's code (128+N when signal N ended it). It is a
single-threaded process and imports only the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
ENDING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PARENT_DIED = signal.SIGRTMIN + 1
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL = 0.02
REAP_LIMIT = 5.0  # seconds to wait for the group after KILL before giving up


def prctl(option: int, value: int) -> None:
    """Linux's prctl(2) (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def deadline_left(path: str) -> float:
    """Seconds until the lease's local deadline as the supervisor last wrote it (0 if unknown)."""
    try:
        with open(path, encoding="ascii") as file:
            state = json.load(file)
        return max(0.0, (int(state["deadline_ms"]) - time.time() * 1000) / 1000)
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


class Watchdog:
    def __init__(self, channel: socket.socket, parent: int, grace: float, deadline_file: str):
        self.channel = channel
        self.parent = parent
        self.grace = grace
        self.deadline_file = deadline_file
        self.child: subprocess.Popen[bytes] | None = None
        self.orphaned = False
        self.kill_at: float | None = None  # monotonic: KILL the group then, if still there

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == PARENT_DIED:
            self.orphaned = True
            return
        self.signal_group(signum)
        if signum in ENDING:
            self.arm_kill(self.grace)

    def signal_group(self, signum: int) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signum)

    def arm_kill(self, grace: float) -> None:
        at = time.monotonic() + max(0.0, grace)
        self.kill_at = at if self.kill_at is None else min(self.kill_at, at)

    def end_group(self, grace: float) -> None:
        """TERM the group now and KILL it after ``grace`` seconds (sooner if already armed)."""
        self.signal_group(signal.SIGTERM)
        self.arm_kill(grace)

    def run(self, cmd: list[str]) -> int:
        for signum in (*FORWARDED, PARENT_DIED):
            signal.signal(signum, self.on_signal)
        prctl(PR_SET_PDEATHSIG, PARENT_DIED)
        prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphaned grandchildren become ours to reap
        try:
            self.child = start_group_leader(cmd)
        except OSError as exc:
            self.channel.sendall(f"failed {exc}\n".encode())
            return 127
        self.channel.sendall(f"started {self.child.pid}\n".encode())
        if os.getppid() != self.parent:  # the supervisor died before the death signal was set
            self.orphaned = True
        try:
            code = self.watch()
        except BaseException:  # fail safe: the group never outlives a broken watchdog
            self.signal_group(signal.SIGKILL)
            raise
        self.end_group(0.0 if self.orphaned else min(self.grace, 1.0))
        self.reap_group()
        return code

    def watch(self) -> int:
        assert self.child is not None
        while (code := self.child.poll()) is None:
            if self.orphaned:
                self.orphaned = False
                self.end_group(min(self.grace, deadline_left(self.deadline_file)))
                self.parent = -1  # handled; the group is on its way out
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.signal_group(signal.SIGKILL)
                self.kill_at = None
            readable, _, _ = select.select([self.channel], [], [], POLL)
            if readable:
                try:
                    message = self.channel.recv(256)
                except OSError:  # ECONNRESET: the supervisor died with our reply unread
                    message = b""
                self.on_message(message.decode(errors="replace"))
        return 128 - code if code < 0 else code

    def on_message(self, text: str) -> None:
        if not text:  # end of file: the supervisor is gone
            self.orphaned = self.parent != -1
            self.parent = -1
            return
        for line in text.splitlines():
            verb, _, argument = line.partition(" ")
            if verb == "stop":
                self.end_group(float(argument or 0))

    def reap_group(self) -> None:
        """Wait until no process is left in the group (KILLing it when ``kill_at`` comes)."""
        assert self.child is not None
        give_up = (self.kill_at or time.monotonic()) + REAP_LIMIT
        while time.monotonic() < give_up:
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0] > 0:  # grandchildren we adopted
                    pass
            try:
                os.killpg(self.child.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.signal_group(signal.SIGKILL)
                self.kill_at = None
            time.sleep(POLL)


def start_group_leader(cmd: list[str]) -> subprocess.Popen[bytes]:
    """Start ``cmd`` as the leader of a new process group."""
    if sys.version_info >= (3, 11):
        return subprocess.Popen(cmd, process_group=0)
    # preexec_fn is safe here: the watchdog is single-threaded.
    return subprocess.Popen(cmd, preexec_fn=os.setpgrp)  # noqa: PLW1509


def main(argv: list[str]) -> int:
    fd, parent, grace, deadline_file, separator, *cmd = argv
    if separator != "--" or not cmd:
        print("usage: python -m cloudlease._watchdog FD PARENT GRACE FILE -- CMD", file=sys.stderr)
        return 2
    channel = socket.socket(fileno=int(fd))
    return Watchdog(channel, int(parent), float(grace), deadline_file).run(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
