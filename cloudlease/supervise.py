"""``cloudlease run``'s supervisor: a command runs only while its lease is held.

The command cannot outlive the lease. It runs as the leader of its own process group under a
watchdog (``cloudlease._watchdog``, a separate single-threaded process in its own session)
that ends the whole group, ``sh -c`` grandchildren included:

- when the lease is lost: TERM, then KILL after ``grace`` clamped to end before the lease's
  local deadline (at once when the lease ran out);
- when the supervisor dies, however (the watchdog sees its socket close, or its parent-death
  signal): TERM, then KILL by the last deadline the supervisor wrote;
- after the command exits: whatever it left running in its group is ended too.

Signals the supervisor receives (TERM, INT, HUP, USR1, USR2) reach the whole group; after TERM,
INT or HUP the group is killed if it is still there ``grace`` seconds later.

A supervisor that is frozen itself (SIGSTOP, a suspended VM) cannot stop its command. For that
case the command can check for itself: ``CLOUDLEASE_DEADLINE_FILE`` names a JSON file that the
supervisor rewrites on every renewal (``token``, ``deadline_ms``: the local deadline as epoch
ms on this host, ``held``), and ``cloudlease check`` exits 0 only while the deadline is ahead.
A frozen supervisor stops rewriting it, so the deadline passes and the check fails. Fencing
writes with ``CLOUDLEASE_TOKEN`` remains the last line of defence.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cloudlease.tenure import Tenure

EX_LEASE_LOST = 76
EX_NOT_STARTED = 127
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
POLL = 0.05
BACKSTOP = 1.0  # seconds the watchdog gets past its KILL time before the supervisor steps in
DEADLINE_FILE_ENV = "CLOUDLEASE_DEADLINE_FILE"


@dataclass(frozen=True)
class Outcome:
    """How a supervised run ended: the exit code and whether the lease was lost."""

    code: int
    lost: bool


class DeadlineFile:
    """The file the command reads to learn whether the lease is still held, and until when."""

    def __init__(self, tenure: Tenure) -> None:
        self.tenure = tenure
        handle, name = tempfile.mkstemp(prefix="cloudlease-", suffix=".json")
        os.close(handle)
        self.path = Path(name)
        self._written: tuple[int, float, bool] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Rewrite the file (atomically) if the grant or the state changed."""
        tenure = self.tenure
        held = not tenure.lost.is_set()
        state = (tenure.token, tenure.lease.deadline, held)
        if state == self._written:
            return
        clock = tenure.store.clock
        deadline_ms = clock.wall_ms() + round(tenure.remaining() * 1000) if held else 0
        body = {"lease": tenure.lease_name, "token": tenure.token, "deadline_ms": deadline_ms}
        staged = self.path.with_suffix(".tmp")
        staged.write_text(json.dumps({**body, "held": held}), encoding="ascii")
        os.replace(staged, self.path)
        self._written = state

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def read_deadline_file(path: str | Path) -> dict[str, object]:
    """The state a supervisor last wrote (raises OSError or ValueError if unreadable)."""
    state = json.loads(Path(path).read_text(encoding="ascii"))
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return state


def supervise(tenure: Tenure, cmd: list[str], env: Mapping[str, str], grace: float) -> Outcome:
    """Run ``cmd`` under a watchdog while ``tenure`` holds its lease (see the module docs)."""
    deadline = DeadlineFile(tenure)
    ours, theirs = socket.socketpair()
    forwarder = _Forwarder()  # installed first: a signal that arrives meanwhile is kept
    try:
        with forwarder:
            watchdog = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cloudlease._watchdog",
                    str(theirs.fileno()),
                    str(os.getpid()),
                    repr(grace),
                    str(deadline.path),
                    "--",
                    *cmd,
                ],
                env={**env, DEADLINE_FILE_ENV: str(deadline.path)},
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
            theirs.close()
            forwarder.to(watchdog.pid)
            return _watch(tenure, watchdog, ours, deadline, grace)
    finally:
        ours.close()
        theirs.close()
        deadline.remove()


def _watch(
    tenure: Tenure,
    watchdog: subprocess.Popen[bytes],
    channel: socket.socket,
    deadline: DeadlineFile,
    grace: float,
) -> Outcome:
    group = _started_group(channel)
    if group is None:
        watchdog.wait()
        return Outcome(EX_NOT_STARTED, lost=False)
    lost = False
    backstop = math.inf  # monotonic: end the group from here if the watchdog has not by then
    while watchdog.poll() is None:
        # A renewal stuck in a slow request cannot mark the loss: the deadline decides too.
        if not lost and (tenure.lost.wait(POLL) or not tenure.is_valid()):
            lost = True
            deadline.refresh()
            left = max(0.0, tenure.lease.deadline - tenure.store.clock.monotonic())
            grace = min(grace, left)
            why = tenure.reason or "its local deadline passed while a renewal still waited"
            print(
                f"cloudlease: lease {tenure.lease_name!r} lost ({why}); stopping the command's "
                f"process group (KILL in {grace:.2f}s)",
                file=sys.stderr,
            )
            channel.sendall(f"stop {grace!r}\n".encode())
            backstop = time.monotonic() + grace + BACKSTOP
        elif not lost:
            deadline.refresh()
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(POLL)
            if time.monotonic() > backstop:
                _kill_group(group)
    code = watchdog.returncode
    if code < 0:  # the watchdog itself was killed: end the group from here
        _kill_group(group)
        code = 128 - code
    return Outcome(EX_LEASE_LOST if lost else code, lost)


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _started_group(channel: socket.socket) -> int | None:
    """The command's process group, as the watchdog reports it (None if it did not start)."""
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = channel.recv(256)
        if not chunk:
            break
        reply += chunk
    verb, _, rest = reply.decode(errors="replace").strip().partition(" ")
    if verb != "started":
        print(
            f"cloudlease: the command did not start: {rest or 'watchdog failed'}", file=sys.stderr
        )
        return None
    return int(rest)


class _Forwarder:
    """Passes the signals the supervisor receives to the watchdog (which passes them to the
    command's group); one that arrives before the watchdog exists is passed once it does."""

    def __init__(self) -> None:
        self.target: int | None = None
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Forwarder:
        self.previous = {sig: signal.signal(sig, self.forward) for sig in FORWARDED}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def forward(self, signum: int, _frame: FrameType | None) -> None:
        if self.target is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.target, signum)

    def to(self, pid: int) -> None:
        self.target = pid
        while self.pending:
            self.forward(self.pending.pop(0), None)
