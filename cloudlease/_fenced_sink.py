"""FencedSink: a resource that accepts a write only with a token at least as new as the last.

It is what a fencing token protects: a database row, a file, an object. The sink lives in one
SQLite file, so writers in several processes share it, and it logs every attempt (accepted or
refused) with the writer's monotonic time, for checkers to replay.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from cloudlease.stores.wal import use_wal


@dataclass(frozen=True)
class SinkWrite:
    """One write attempt as the sink logged it."""

    seq: int
    token: int
    holder: str
    value: str
    accepted: bool
    at: float  # the writer's time.monotonic() (shared by processes on one host)


class FencedSink:
    """A fenced resource in SQLite: ``write(token, ...)`` is refused once a newer token wrote."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        use_wal(self._db, 30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sink_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "token INTEGER NOT NULL, holder TEXT NOT NULL, value TEXT NOT NULL, "
            "accepted INTEGER NOT NULL, at REAL NOT NULL)"
        )

    def write(self, token: int, holder: str, value: str = "") -> bool:
        """Write ``value`` fenced by ``token``; False (and nothing written) if a newer token won."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT MAX(token) FROM sink_log WHERE accepted = 1").fetchone()
            accepted = row[0] is None or token >= row[0]
            self._db.execute(
                "INSERT INTO sink_log (token, holder, value, accepted, at) VALUES (?, ?, ?, ?, ?)",
                (token, holder, value, int(accepted), time.monotonic()),
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # not after a COMMIT that landed (e.g. SIGTERM just after)
                self._db.execute("ROLLBACK")
            raise
        return accepted

    def history(self) -> list[SinkWrite]:
        """Every attempt, in the order the sink saw them."""
        rows = self._db.execute(
            "SELECT seq, token, holder, value, accepted, at FROM sink_log ORDER BY seq"
        ).fetchall()
        return [SinkWrite(s, t, h, v, bool(a), at) for s, t, h, v, a, at in rows]

    def close(self) -> None:
        self._db.close()


def check_fencing(history: list[SinkWrite]) -> list[str]:
    """Violations of fencing in a sink history (empty when all is well).

    Accepted tokens never decrease, and one token belongs to one holder.
    """
    return [problem for _write, _other, problem in fencing_violations(history)]


def fencing_violations(history: list[SinkWrite]) -> list[tuple[SinkWrite, SinkWrite, str]]:
    """``check_fencing`` with what each violation is about: (the offending write, the earlier
    accepted write it conflicts with, the sentence)."""
    problems: list[tuple[SinkWrite, SinkWrite, str]] = []
    newest: SinkWrite | None = None
    owner: dict[int, SinkWrite] = {}
    for write in history:
        if not write.accepted:
            continue
        if newest is not None and write.token < newest.token:
            problems.append(
                (write, newest, f"#{write.seq}: token {write.token} accepted after {newest.token}")
            )
        first = owner.setdefault(write.token, write)
        if first.holder != write.holder:
            problems.append(
                (
                    write,
                    first,
                    f"#{write.seq}: token {write.token} used by {write.holder!r} and "
                    f"{first.holder!r}",
                )
            )
        if newest is None or write.token > newest.token:
            newest = write
    return problems
