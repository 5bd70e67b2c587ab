"""``GCSStore``: one JSON object per lease, every change one upload with a generation
precondition.

Cloud Storage compares and sets on the object's generation (a new number on every write):
``ifGenerationMatch=0`` creates an object only if there is none, ``ifGenerationMatch=G``
replaces it only if it is still generation G. The record's rules (who may acquire, the next
token) are ``cloudlease.records``, applied to the version read; the precondition makes
read-decide-write atomic. Timeline of a takeover::

    GET lease                     -> record R (holder A, expired), generation g1
    decide                        -> acquired(R, request): holder B, token > R.token
    upload ifGenerationMatch=g1   -> 200, generation g2   (or 412: someone wrote; read again)

A grant keeps its generation in ``Lease.store_state``, so renew and release are one upload
each. The store also remembers the last version it read or wrote per name, so an acquire of a
lease known to be free costs one upload; a refusal is never decided on a remembered version.

Cloud Storage allows about one write per second per object (429 beyond it): the store backs
off and retries, and the ttl minimum (6 s, so renewals every ttl/3 are 2 s apart) follows.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions
from google.cloud.storage import Blob, Client

from cloudlease import records as rules
from cloudlease._validation import NAME_PATTERN, Duration, to_seconds
from cloudlease.clock import Clock
from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, Capabilities
from cloudlease_gcs import _record as codec
from cloudlease_gcs._errors import THROTTLED, Translator

T = TypeVar("T")

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
#: Name of the object ``init`` writes (and deletes) to prove the prefix is writable; not a
#: valid lease name, so ``records()`` skips it.
INIT_CHECK = ".cloudlease-init-check"

_FIRST_BACKOFF = 0.5  # seconds; doubles per throttled attempt (the limit is per second)
_MAX_BACKOFF = 2.0
_ROUNDS = 4  # read-decide-write rounds before giving up on an object that keeps changing


@dataclass(frozen=True)
class GCSState:
    """What a grant remembers: the generation of the object version it wrote."""

    generation: int


class _Changed(Exception):
    """The generation precondition failed (412): the object changed since read."""


class GCSStore(BaseStore):
    """Lease records as JSON objects under one prefix of one Cloud Storage bucket.

    Pass ``client`` (a ``google.cloud.storage.Client``), or ``project`` and ``credentials``
    (default: Application Default Credentials; anonymous when STORAGE_EMULATOR_HOST is set).
    ``retry_budget`` bounds how long 429 answers are retried; ``timeout`` is per request.
    ``create_bucket=True`` lets ``init`` create a missing bucket (otherwise it only checks).
    """

    capabilities = Capabilities(
        min_ttl=6.0,
        ttl_rule=(
            "Cloud Storage allows about one write per second per object, so a lease object "
            "needs a ttl of at least 6 s (renewals every ttl/3 stay 2 s apart, with room for a "
            "back-off after a 429)"
        ),
        round_trips={"acquire": 2, "acquire_known": 1, "renew": 1, "release": 1, "get": 1},
    )

    def __init__(
        self,
        bucket: str,
        prefix: str = codec.DEFAULT_PREFIX,
        *,
        project: str | None = None,
        client: Client | None = None,
        credentials: Any = None,
        create_bucket: bool = False,
        timeout: Duration = 10.0,
        retry_budget: Duration = 5.0,
        clock: Clock | None = None,
        skew_allowance: Duration = 1.0,
        safety_margin: Duration | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, skew_allowance=skew_allowance, safety_margin=safety_margin)
        self.bucket = check_bucket(bucket)
        self.project = project
        self.prefix = codec.DEFAULT_PREFIX
        self.prefix = codec.check_prefix(prefix, store=self.url)
        self.create_bucket = create_bucket
        self.timeout = to_seconds(timeout, what="timeout", store=self.url)
        self.retry_budget = to_seconds(
            retry_budget, what="retry_budget", store=self.url, allow_zero=True
        )
        self._translate = Translator(self.bucket, self.prefix, self.url)
        self._client = client
        self._owns_client = client is None
        self._credentials = credentials
        self._rng = rng or random.Random()
        self._never = threading.Event()
        self._lock = threading.Lock()
        self._known: dict[str, tuple[LeaseRecord, int]] = {}

    @property
    def url(self) -> str:
        query = f"?project={self.project}" if self.project else ""
        return f"gs://{self.bucket}/{self.prefix}{query}"

    @property
    def client(self) -> Client:
        """The ``storage.Client`` (built on first use)."""
        with self._lock:
            if self._client is None:
                self._client = build_client(self.project, self._credentials, self._translate)
            return self._client

    def key(self, name: str) -> str:
        """The object name of lease ``name``."""
        return self.prefix + name

    def blob(self, name: str) -> Blob:
        """A handle (no request) on the object of lease ``name``."""
        return self.client.bucket(self.bucket).blob(self.key(name))

    # -- requests ---------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], *, lease: str | None, write: bool, budget: float) -> T:
        """One request; 429 retried with jittered backoff on the store's clock.

        412 and 404 pass through for the caller to interpret; every other failure becomes a
        cloudlease error naming bucket and prefix.
        """
        give_up = self.clock.monotonic() + budget
        delay = _FIRST_BACKOFF
        while True:
            try:
                return call()
            except (gexc.PreconditionFailed, gexc.NotFound):
                raise
            except THROTTLED as exc:
                pause = self._rng.uniform(delay / 2, delay)
                if self.clock.monotonic() + pause > give_up:
                    raise self._translate(exc, lease=lease, write=write) from exc
                self.clock.wait(self._never, pause)
                delay = min(delay * 2, _MAX_BACKOFF)
            except Exception as exc:
                raise self._translate(exc, lease=lease, write=write) from exc

    def _remember(self, name: str, known: tuple[LeaseRecord, int] | None) -> None:
        with self._lock:
            if known is None:
                self._known.pop(name, None)
            else:
                self._known[name] = known

    def _recall(self, name: str) -> tuple[LeaseRecord, int] | None:
        with self._lock:
            return self._known.get(name)

    def _read(self, name: str) -> tuple[LeaseRecord, int] | None:
        """One media GET: (record, generation), or None when there is no object."""
        blob = self.blob(name)
        try:
            data = self._call(
                lambda: blob.download_as_bytes(retry=None, timeout=self.timeout),
                lease=name,
                write=False,
                budget=self.retry_budget,
            )
        except gexc.NotFound as exc:
            if "bucket" in str(exc.message).lower():
                raise self._translate(exc, lease=name, write=False) from exc
            self._remember(name, None)
            return None
        except gexc.PreconditionFailed as exc:  # never asked for: a proxy's answer
            raise self._translate(exc, lease=name, write=False) from exc
        where = f"gs://{self.bucket}/{self.key(name)}"
        record = codec.decode(data, name, where=where, store=self.url)
        known = (record, int(blob.generation or 0))
        self._remember(name, known)
        return known

    def _write(self, record: LeaseRecord, generation: int | None, budget: float) -> int:
        """Upload ``record`` if the object is still ``generation`` (None: if there is none)."""
        name = record.name
        blob = self.blob(name)
        body = codec.encode(record)
        try:
            self._call(
                lambda: blob.upload_from_string(
                    body,
                    content_type="application/json",
                    if_generation_match=generation or 0,
                    retry=None,
                    timeout=self.timeout,
                ),
                lease=name,
                write=True,
                budget=budget,
            )
        except gexc.PreconditionFailed:
            self._remember(name, None)
            raise _Changed from None
        except gexc.NotFound as exc:
            raise self._translate(exc, lease=name, write=True) from exc
        written = int(blob.generation or 0)
        self._remember(name, (record, written))
        return written

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        budget = min(self.retry_budget, request.ttl_ms / 2000)
        known = self._recall(request.name)
        for _ in range(_ROUNDS):
            if known is None or not rules.can_acquire(known[0], request):
                known = self._read(request.name)  # refusals are decided on a fresh read only
                if known is not None and not rules.can_acquire(known[0], request):
                    raise self._held(request, known[0])
            current, generation = known if known is not None else (None, None)
            record = rules.acquired(current, request)
            try:
                return record, GCSState(self._write(record, generation, budget))
            except _Changed:
                known = None
        raise self._changing(request.name, "acquire")

    def _write_if_ours(
        self, lease: Lease, change: Callable[[LeaseRecord], LeaseRecord], budget: float
    ) -> tuple[LeaseRecord, GCSState] | LeaseRecord | None:
        """Write ``change(record)`` while the record names ``lease``: (record, state), or the
        record found instead (None: no object)."""
        state = lease.store_state
        known = (lease.record, state.generation) if isinstance(state, GCSState) else None
        for _ in range(_ROUNDS):
            if known is None:
                known = self._read(lease.name)
            if known is None or not rules.holds(known[0], lease.holder, lease.token):
                return None if known is None else known[0]
            record = change(known[0])
            try:
                return record, GCSState(self._write(record, known[1], budget))
            except _Changed:
                known = None
        raise self._changing(lease.name, "write")

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        budget = min(self.retry_budget, max(lease.remaining(), 0.0))
        try:
            outcome = self._write_if_ours(
                lease, lambda record: rules.renewed(record, now_ms, ttl_ms), budget
            )
        except CorruptRecord as exc:
            raise LeaseLost(
                f"token {lease.token} is no longer valid: the object was overwritten by "
                f"something else ({exc.detail})",
                lease=lease.name,
                store=self.url,
            ) from exc
        if isinstance(outcome, tuple):
            return outcome
        raise self._lost(lease, outcome)

    def _release(self, lease: Lease, now_ms: int) -> bool:
        outcome = self._write_if_ours(
            lease, lambda record: rules.released(record, now_ms), self.retry_budget
        )
        return isinstance(outcome, tuple)

    def _get(self, name: str) -> LeaseRecord | None:
        known = self._read(name)
        return None if known is None else known[0]

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """After a read-back: the generation of the version read, if it is exactly ``record``."""
        known = self._recall(record.name)
        if known is not None and known[0] == record:
            return GCSState(known[1])
        return None  # unknown: the next renewal reads first

    def _list(self) -> list[LeaseRecord]:
        client = self.client
        try:
            names = [blob.name for blob in client.list_blobs(self.bucket, prefix=self.prefix)]
        except Exception as exc:
            raise self._translate(exc, lease=None, write=False) from exc
        found: list[LeaseRecord] = []
        for key in names:
            name = key[len(self.prefix) :]
            if not NAME_PATTERN.fullmatch(name):
                continue  # nested objects and the init check are not leases
            known = self._read(name)
            if known is not None:
                found.append(known[0])
        return found

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        for _ in range(_ROUNDS):
            known = self._read(name)
            if known is None:
                return None
            try:
                self._write(rules.released(known[0], now_ms), known[1], self.retry_budget)
            except _Changed:
                continue
            return known[0]
        raise self._changing(name, "forced release")

    def delete_record(self, name: str) -> None:
        """Delete the object outright, as a lifecycle rule or an operator would."""
        blob = self.blob(name)
        self._remember(name, None)
        with contextlib.suppress(gexc.NotFound):
            self._call(
                lambda: blob.delete(retry=None, timeout=self.timeout),
                lease=name,
                write=True,
                budget=self.retry_budget,
            )

    def _changing(self, name: str, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"the lease object changed {_ROUNDS} times during one {what}; nothing of ours "
            "was written, retry",
            lease=name,
            store=self.url,
        )

    # -- bucket -----------------------------------------------------------------------------

    def init(self, *, create_bucket: bool | None = None) -> None:
        """Check that the bucket exists and the prefix is writable; idempotent.

        Creates a missing bucket only when asked (``create_bucket=True`` here or on the store,
        ``cloudlease init --create-bucket``), with the project's default location and no
        lifecycle rule: prefer terraform/gcs for anything that lasts.
        """
        create = self.create_bucket if create_bucket is None else create_bucket
        client = self.client
        try:
            client.get_bucket(self.bucket, retry=None, timeout=self.timeout)
        except gexc.NotFound as exc:
            if not create:
                raise self._translate(exc, lease=None, write=False) from exc
            try:
                client.create_bucket(self.bucket, retry=None, timeout=self.timeout)
            except gexc.Conflict:
                pass  # created meanwhile (by us or someone else): checked below
            except Exception as failure:
                raise self._translate(failure, lease=None, write=False) from failure
        except Exception as exc:
            raise self._translate(exc, lease=None, write=False) from exc
        probe = client.bucket(self.bucket).blob(self.prefix + INIT_CHECK)
        try:
            probe.upload_from_string(b"cloudlease init check\n", retry=None, timeout=self.timeout)
            probe.delete(retry=None, timeout=self.timeout)
        except Exception as exc:
            error = self._translate(exc, lease=None, write=False)
            raise type(error)(
                f"bucket {self.bucket!r} exists but the prefix {self.prefix!r} is not writable "
                f"({error.detail})",
                store=self.url,
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
                self._client = None


_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")


def check_bucket(bucket: object) -> str:
    """The bucket name, or ConfigError for a name Cloud Storage would reject."""
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or bucket.startswith("goog"):
        raise ConfigError(
            f"invalid Cloud Storage bucket name {bucket!r}: 3-63 lowercase letters, digits, "
            "'.', '_' and '-', starting and ending with a letter or digit, not 'goog...'",
            store=f"gs://{bucket}",
        )
    return bucket


def build_client(project: str | None, credentials: Any, translate: Translator) -> Client:
    """A client for ``project``: Application Default Credentials, or anonymous credentials
    when STORAGE_EMULATOR_HOST points at an emulator (as the Firestore SDK does)."""
    if credentials is None and os.environ.get(EMULATOR_ENV):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        project = project or "cloudlease-emulator"
    try:
        client = Client(project=project, credentials=credentials)
    except auth_exceptions.DefaultCredentialsError as exc:
        raise translate(exc, lease=None, write=False) from None
    # google-cloud-storage >= 3.10 fetches each bucket's metadata once per client in a
    # background thread (for tracing attributes): one more request, and one that needs
    # storage.buckets.get, which a lease holder does not. The client we build skips it.
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None
    return client
