"""Put a SQLite file in WAL mode, also when several processes open a new file at once."""

from __future__ import annotations

import sqlite3
import time


def use_wal(connection: sqlite3.Connection, patience: float) -> None:
    """``PRAGMA journal_mode=WAL`` on ``connection``, retried for up to ``patience`` seconds.

    SQLite answers a switch that meets another connection's switch (processes opening a new
    file together) with "database is locked" at once, without waiting out the busy timeout.
    The mode is stored in the file, so the loser's retry finds the winner's WAL and returns.
    """
    give_up = time.monotonic() + patience
    pause = 0.001
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + pause > give_up:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
