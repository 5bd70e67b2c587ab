"""``sqlite:///PATH``: a store in one SQLite file, safe across processes on one host.

An acquisition is one ``BEGIN IMMEDIATE`` transaction (read, decide with ``records.py``,
write), so two processes never interleave inside it (after a refusal, the next attempt on that
name reads first and is refused on that read alone while the lease is still held, leaving the
write lock to the holder); a renewal or a release is one
conditional ``UPDATE`` (``WHERE holder = ? AND token = ?``), atomic by itself; a read is one
``SELECT`` (its own snapshot under WAL). WAL journaling and a busy timeout keep contention cheap.
``sqlite:///leases.db`` is relative to the working directory, ``sqlite:////var/x.db`` absolute.
Query options: ``table`` (default ``cloudlease_leases``), ``timeout`` (busy timeout, seconds).

The ``schema`` column (default 1) marks rows written under the µs token rule with 2; a
cloudlease that predates it names the other columns only, so every row it writes reads as 1.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from cloudlease import records as rules
from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError, CorruptRecord, StoreMisconfigured, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, Capabilities
from cloudlease.stores.wal import use_wal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing_extensions import Unpack

    from cloudlease._contract import Timing

T = TypeVar("T")
_TABLE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
DEFAULT_TABLE = "cloudlease_leases"
DEFAULT_BUSY_TIMEOUT = 10.0
_COLUMNS = "name, holder, token, expires_at, acquired_at, renewed_at, transitions, metadata, schema"
# Added after the first release: rows written by an older cloudlease take the default.
_SCHEMA_COLUMN = f"schema INTEGER NOT NULL DEFAULT {rules.LEGACY_SCHEMA}"


class SQLiteStore(BaseStore):
    """Lease records as rows of one table in one SQLite file."""

    capabilities = Capabilities(shared_across="host")

    def __init__(
        self,
        path: str | Path,
        *,
        table: str = DEFAULT_TABLE,
        busy_timeout: Duration = DEFAULT_BUSY_TIMEOUT,
        **timing: Unpack[Timing],
    ) -> None:
        super().__init__(**timing)
        self.path = Path(path)
        if not _TABLE_PATTERN.fullmatch(table):
            raise ConfigError(
                f"invalid table name {table!r}: use letters, digits and '_', up to 63 characters",
                store=f"sqlite:///{self.path}",
            )
        self.table = table
        # The statements, built once: they run on every operation.
        self._select = f"SELECT {_COLUMNS} FROM {table} WHERE name = ?"
        self._replace = (
            f"INSERT OR REPLACE INTO {table} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._renew_sql = (
            f"UPDATE {table} SET expires_at = ?, renewed_at = ? "
            "WHERE name = ? AND holder = ? AND token = ?"
        )
        self._release_sql = (
            f"UPDATE {table} SET holder = '', expires_at = ? "
            "WHERE name = ? AND holder = ? AND token = ?"
        )
        self.busy_timeout = to_seconds(busy_timeout, what="busy_timeout", store=self.url)
        self._url = self._make_url()  # shown in every error: built once
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        #: Names whose last acquire here was refused: the next one reads first (a waiter polls
        #: a held lease, and a refusal decided on a read leaves the write lock to the holder).
        self._refused: set[str] = set()

    @property
    def url(self) -> str:
        """The URL that opens this store again, options included (``?table=``, ``?timeout=``)."""
        url: str | None = getattr(self, "_url", None)  # set once the constructor is done
        return self._make_url() if url is None else url

    def _make_url(self) -> str:
        options = []
        if getattr(self, "table", DEFAULT_TABLE) != DEFAULT_TABLE:
            options.append(f"table={self.table}")
        if getattr(self, "busy_timeout", DEFAULT_BUSY_TIMEOUT) != DEFAULT_BUSY_TIMEOUT:
            options.append(f"timeout={self.busy_timeout:g}")
        return f"sqlite:///{self.path}" + (f"?{'&'.join(options)}" if options else "")

    # -- connection -------------------------------------------------------------------------

    def init(self) -> None:
        with self._lock:
            self._connect()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self, lease: str | None = None) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        if not self.path.parent.is_dir():
            raise StoreMisconfigured(
                f"the directory {self.path.parent} does not exist; create it or point the URL "
                "at an existing directory",
                lease=lease,
                store=self.url,
            )
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            use_wal(connection, self.busy_timeout)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL, "
                "expires_at INTEGER NOT NULL, acquired_at INTEGER NOT NULL, "
                "renewed_at INTEGER NOT NULL, transitions INTEGER NOT NULL, "
                f"metadata TEXT NOT NULL, {_SCHEMA_COLUMN})"
            )
            self._add_schema_column(connection)
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite file ({exc}); check the path and its permissions",
                lease=lease,
                store=self.url,
            ) from exc
        self._connection = connection
        return connection

    def _add_schema_column(self, connection: sqlite3.Connection) -> None:
        """Give a table made by an older cloudlease its ``schema`` column (rows read as 1)."""
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({self.table})")}
        if "schema" in columns:
            return
        try:
            connection.execute(f"ALTER TABLE {self.table} ADD COLUMN {_SCHEMA_COLUMN}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process added it just now
                raise

    def _run(self, name: str | None, body: Callable[[sqlite3.Connection], T]) -> T:
        """``body`` in one ``BEGIN IMMEDIATE`` transaction; rolled back (nothing written) on
        any error."""
        try:
            with self._lock:
                connection = self._connect(name)
                try:
                    connection.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise self._locked(name, exc) from exc
                try:
                    result = body(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                return result
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"SQLite error ({exc}); nothing was written, retry", lease=name, store=self.url
            ) from exc

    def _update(self, name: str, sql: str, args: tuple[Any, ...]) -> bool:
        """One conditional ``UPDATE``, atomic by itself; True if it changed the row."""
        try:
            with self._lock:
                return self._connect(name).execute(sql, args).rowcount == 1
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise self._locked(name, exc) from exc
            raise StoreUnavailable(
                f"SQLite error ({exc}); nothing was written, retry", lease=name, store=self.url
            ) from exc
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"SQLite error ({exc}); nothing was written, retry", lease=name, store=self.url
            ) from exc

    def _locked(self, name: str | None, exc: sqlite3.OperationalError) -> StoreUnavailable:
        return StoreUnavailable(
            f"the SQLite file stayed locked for {self.busy_timeout:g}s ({exc}); retry, "
            "or raise ?timeout= in the URL",
            lease=name,
            store=self.url,
        )

    def _query(self, name: str | None, body: Callable[[sqlite3.Connection], T]) -> T:
        """A read: one SELECT is its own consistent snapshot (WAL), so no write lock is taken."""
        try:
            with self._lock:
                return body(self._connect(name))
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"SQLite error ({exc}); retry", lease=name, store=self.url
            ) from exc

    def _read(self, connection: sqlite3.Connection, name: str) -> LeaseRecord | None:
        row = connection.execute(self._select, (name,)).fetchone()
        return None if row is None else self._decode(row)

    def _write(self, connection: sqlite3.Connection, record: LeaseRecord) -> None:
        connection.execute(
            self._replace,
            (
                record.name,
                record.holder,
                record.token,
                record.expires_at,
                record.acquired_at,
                record.renewed_at,
                record.transitions,
                json.dumps(record.metadata, separators=(",", ":"), sort_keys=True)
                if record.metadata
                else "{}",
                record.schema,
            ),
        )

    def _decode(self, row: tuple[Any, ...]) -> LeaseRecord:
        name, holder, token, expires_at, acquired_at, renewed_at, transitions, metadata, schema = (
            row
        )
        try:
            decoded = {} if metadata == "{}" else json.loads(metadata)
            if not (
                type(holder) is str
                and type(token) is int
                and type(expires_at) is int
                and type(acquired_at) is int
                and type(renewed_at) is int
                and type(transitions) is int
                and type(schema) is int
            ):
                raise TypeError("wrong column types")
            if not isinstance(decoded, dict):
                raise TypeError("metadata is not an object")
        except (TypeError, ValueError) as exc:
            raise CorruptRecord(
                f"row in table {self.table} is not a cloudlease record ({exc}); delete the row "
                "or use another table",
                lease=str(name),
                store=self.url,
            ) from None
        return LeaseRecord(
            name, holder, token, expires_at, acquired_at, renewed_at, transitions, decoded, schema
        )

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        name = request.name
        if name in self._refused:  # likely still held: one SELECT (its own snapshot) decides
            current = self._get(name)
            if current is not None and not rules.can_acquire(current, request):
                raise self._held(request, current)

        def body(connection: sqlite3.Connection) -> LeaseRecord:
            current = self._read(connection, name)
            if not rules.can_acquire(current, request):
                assert current is not None
                if len(self._refused) >= 256:
                    self._refused.clear()
                self._refused.add(name)
                raise self._held(request, current)
            record = rules.acquired(current, request)
            self._write(connection, record)
            return record

        record = self._run(name, body)
        self._refused.discard(name)
        return record, None

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        # The row still names this holder and token, so it is the grant's record (only an
        # acquisition changes the other fields, and it changes the token): renewed, it is the
        # row the UPDATE wrote.
        args = (now_ms + ttl_ms, now_ms, lease.name, lease.holder, lease.token)
        if not self._update(lease.name, self._renew_sql, args):
            raise self._lost(lease, self._get(lease.name))
        return rules.renewed(lease.record, now_ms, ttl_ms), None

    def _release(self, lease: Lease, now_ms: int) -> bool:
        args = (now_ms, lease.name, lease.holder, lease.token)
        return self._update(lease.name, self._release_sql, args)

    def _get(self, name: str) -> LeaseRecord | None:
        """One SELECT: its own consistent snapshot under WAL, so no write lock is taken."""
        try:
            with self._lock:
                row = self._connect(name).execute(self._select, (name,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"SQLite error ({exc}); retry", lease=name, store=self.url
            ) from exc
        return None if row is None else self._decode(row)

    def _list(self) -> list[LeaseRecord]:
        def body(connection: sqlite3.Connection) -> list[LeaseRecord]:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM {self.table}").fetchall()
            return [self._decode(row) for row in rows]

        return self._query(None, body)

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        def body(connection: sqlite3.Connection) -> LeaseRecord | None:
            current = self._read(connection, name)
            if current is not None:
                self._write(connection, rules.released(current, now_ms))
            return current

        return self._run(name, body)

    def delete_record(self, name: str) -> None:
        """Drop a record outright, as an operator might (tests use it)."""
        self._run(name, lambda c: c.execute(f"DELETE FROM {self.table} WHERE name = ?", (name,)))


def from_url(url: str, **options: Any) -> SQLiteStore:
    """Open ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (``?table=&timeout=``)."""
    parts = urlsplit(url)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.scheme != "sqlite" or parts.netloc or not path:
        raise ConfigError(
            f"cannot parse SQLite store URL {url!r}: use 'sqlite:///relative/path.db' or "
            "'sqlite:////absolute/path.db'",
            store=url,
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"table", "timeout"}
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))} in SQLite store URL {url!r}; "
            "known: table, timeout",
            store=url,
        )
    if "table" in query:
        options.setdefault("table", query["table"][-1])
    if "timeout" in query:
        try:
            options.setdefault("busy_timeout", float(query["timeout"][-1]))
        except ValueError:
            raise ConfigError(
                f"timeout={query['timeout'][-1]!r} in {url!r} is not a number of seconds; "
                "give seconds, e.g. ?timeout=10",
                store=url,
            ) from None
    return SQLiteStore(path, **options)
