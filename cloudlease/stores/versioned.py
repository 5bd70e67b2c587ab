"""``VersionedStore``: a lease record in one object, every change one compare-and-set.

Object stores compare and set on a version of the object (S3: the ETag, with ``If-None-Match:
*`` to create and ``If-Match`` to replace; Cloud Storage: the generation, with
``ifGenerationMatch``). The read-decide-write is the same for all of them and is written here
once; a backend supplies the requests (read an object with its version, write one if it is
still a version) and the translation of its SDK's errors. The record's rules (who may acquire,
the next token) are ``cloudlease.records``, applied to the version read; the precondition makes
read-decide-write atomic. Timeline of a takeover::

    read lease               -> record R (holder A, expired), version v1
    decide                   -> acquired(R, request): holder B, token > R.token
    write if version is v1   -> written, version v2   (or VersionChanged: read again)

A grant keeps its version in ``Lease.store_state``, so renew and release are one write each.
The store also remembers the last version it read or wrote per name, so an acquire of a lease
known to be free costs one write; a refusal is never decided on a remembered version (it reads).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from cloudlease import records as rules
from cloudlease._frozen import Frozen, setters
from cloudlease._remembered import Remembered
from cloudlease._validation import Duration, is_lease_name, to_seconds
from cloudlease.errors import CloudLeaseError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore
from cloudlease.stores import objects

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random

    from typing_extensions import Unpack

    from cloudlease._contract import Timing

T = TypeVar("T")
V = TypeVar("V")

_ROUNDS = 4  # read-decide-write rounds before giving up on an object that keeps changing


class ObjectVersion(Frozen, Generic[V]):
    """What a grant remembers (``Lease.store_state``): the version of the object it wrote."""

    __slots__ = ("version",)
    _fields = ("version",)

    version: V

    def __init__(self, version: V) -> None:
        put = _PUT_OBJECT_VERSION
        put[0](self, version)


_PUT_OBJECT_VERSION = setters(ObjectVersion)


class VersionChanged(Exception):
    """The write's precondition failed: the object is no longer the version read (or is there
    when none was expected). Nothing was written; the caller reads again."""


class Verdict(Enum):
    """What the request loop does with a backend's exception."""

    PASS = "pass"  # the backend interprets it (a failed precondition, a missing object)
    RETRY = "retry"  # surely not applied (throttling, a conflict): back off and send again
    FAIL = "fail"  # translated into a cloudlease error


class Translate(Protocol):
    """A backend's SDK failure -> the cloudlease error naming the store and the fix."""

    def __call__(
        self, exc: BaseException, *, lease: str | None, write: bool
    ) -> CloudLeaseError: ...


class VersionedStore(BaseStore, Generic[V]):
    """Lease records as objects under ``prefix`` in ``bucket``; a backend implements the
    requests (``_read_object``, ``_write_object``, ``_list_keys``, ``_delete_object``,
    ``_ensure_bucket``) and what its errors mean (``_verdict``, ``_translate``).

    ``state_type`` is the backend's ``ObjectVersion`` subclass; ``scheme`` and ``package`` name
    it in messages. Retried requests back off from ``first_backoff`` (doubling up to
    ``max_backoff``) with jitter from ``rng``, on the store's clock, within a budget.
    """

    scheme: ClassVar[str]
    package: ClassVar[str]
    state_type: ClassVar[type[ObjectVersion[Any]]]
    first_backoff: ClassVar[float] = 0.05
    max_backoff: ClassVar[float] = 1.0

    _translate: Translate

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        create_bucket: bool,
        retry_budget: Duration,
        rng: random.Random | None,
        **timing: Unpack[Timing],
    ) -> None:
        super().__init__(**timing)
        self.bucket = bucket  # checked by the backend, which knows its service's rule
        self.prefix = objects.DEFAULT_PREFIX
        self.prefix = objects.check_prefix(prefix, store=self.url)
        self.create_bucket = create_bucket
        self.retry_budget = to_seconds(
            retry_budget, what="retry_budget", store=self.url, allow_zero=True
        )
        import random  # here, not at import: a provider's import stays cheap
        import threading

        self._rng = rng or random.Random()
        self._never = threading.Event()
        self._known: Remembered[tuple[LeaseRecord, V]] = Remembered()

    def key(self, name: str) -> str:
        """The object name of lease ``name``."""
        return self.prefix + name

    def object_url(self, name: str) -> str:
        """``SCHEME://BUCKET/KEY`` of lease ``name``, as messages show it."""
        return f"{self.scheme}://{self.bucket}/{self.key(name)}"

    def init(self, *, create_bucket: bool | None = None) -> None:
        """Check that the bucket exists and the prefix is writable; idempotent.

        Creates a missing bucket only when asked (``create_bucket=True`` here or on the store,
        ``cloudlease init --create-bucket``), bare: prefer the Terraform module for anything
        that lasts (lifecycle rule, least-privilege policy).
        """
        self._ensure_bucket(self.create_bucket if create_bucket is None else create_bucket)

    def delete_record(self, name: str) -> None:
        """Delete the object outright, as a lifecycle rule or an operator would."""
        self._remember(name, None)
        self._delete_object(name)

    # -- what a backend implements ----------------------------------------------------------

    @abstractmethod
    def _ensure_bucket(self, create: bool) -> None:
        """Check (or create, when ``create``) the bucket; write and delete ``INIT_CHECK``."""

    @abstractmethod
    def _delete_object(self, name: str) -> None:
        """Delete lease ``name``'s object (absent already: nothing to do)."""

    @abstractmethod
    def _read_object(self, name: str) -> tuple[bytes, V] | None:
        """One read of lease ``name``'s object: (body, version), or None when there is none."""

    @abstractmethod
    def _write_object(self, name: str, body: bytes, if_version: V | None, budget: float) -> V:
        """Write ``body`` if the object is still ``if_version`` (None: if there is none) and
        return the new version; raise VersionChanged when the precondition fails."""

    @abstractmethod
    def _list_keys(self) -> list[str]:
        """The names of every object under the prefix (leases or not)."""

    @abstractmethod
    def _verdict(self, exc: Exception) -> Verdict:
        """Whether ``exc`` from a request passes through, is retried, or fails the call."""

    # -- requests ---------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], *, lease: str | None, write: bool, budget: float) -> T:
        """One request; what ``_verdict`` calls RETRY is sent again with jittered backoff on
        the store's clock while ``budget`` lasts. PASS goes to the caller as it is; the rest
        (and retries past the budget) become cloudlease errors."""
        give_up = self.clock.monotonic() + budget
        delay = self.first_backoff
        while True:
            try:
                return call()
            except Exception as exc:
                verdict = self._verdict(exc)
                if verdict is Verdict.PASS:
                    raise
                if verdict is Verdict.RETRY:
                    pause = self._rng.uniform(delay / 2, delay)
                    if self.clock.monotonic() + pause <= give_up:
                        self.clock.wait(self._never, pause)
                        delay = min(delay * 2, self.max_backoff)
                        continue
                raise self._translate(exc, lease=lease, write=write) from exc

    def _remember(self, name: str, known: tuple[LeaseRecord, V] | None) -> None:
        if known is None:
            self._known.pop(name)
        else:
            self._known.put(name, known)

    def _recall(self, name: str) -> tuple[LeaseRecord, V] | None:
        return self._known.get(name)

    def _read(self, name: str) -> tuple[LeaseRecord, V] | None:
        """(record, version) of lease ``name`` as stored now, or None; remembered."""
        found = self._read_object(name)
        if found is None:
            self._remember(name, None)
            return None
        data, version = found
        record = objects.decode(
            data, name, where=self.object_url(name), store=self.url, package=self.package
        )
        self._remember(name, (record, version))
        return record, version

    def _write(self, record: LeaseRecord, version: V | None, budget: float) -> V:
        """Write ``record`` if its object is still ``version``; remembered either way."""
        try:
            written = self._write_object(record.name, objects.encode(record), version, budget)
        except VersionChanged:
            self._remember(record.name, None)
            raise
        self._remember(record.name, (record, written))
        return written

    def _version_in(self, lease: Lease) -> tuple[LeaseRecord, V] | None:
        state = lease.store_state
        return (lease.record, state.version) if isinstance(state, self.state_type) else None

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        budget = min(self.retry_budget, request.ttl_ms / 2000)
        known = self._recall(request.name)
        for _ in range(_ROUNDS):
            if known is None or not rules.can_acquire(known[0], request):
                known = self._read(request.name)  # refusals are decided on a fresh read only
                if known is not None and not rules.can_acquire(known[0], request):
                    raise self._held(request, known[0])
            current, version = known if known is not None else (None, None)
            record = rules.acquired(current, request)
            try:
                return record, self.state_type(self._write(record, version, budget))
            except VersionChanged:
                known = None
        raise self._changing(request.name, "acquire")

    def _write_if_ours(
        self, lease: Lease, change: Callable[[LeaseRecord], LeaseRecord], budget: float
    ) -> tuple[LeaseRecord, ObjectVersion[V]] | LeaseRecord | None:
        """Write ``change(record)`` while the record names ``lease``: (record, state), or the
        record found instead (None: no object)."""
        known = self._version_in(lease)
        for _ in range(_ROUNDS):
            if known is None:
                known = self._read(lease.name)
            if known is None or not rules.holds(known[0], lease.holder, lease.token):
                return None if known is None else known[0]
            record = change(known[0])
            try:
                return record, self.state_type(self._write(record, known[1], budget))
            except VersionChanged:
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
        """After a read-back: the version read, if it is exactly ``record``."""
        known = self._recall(record.name)
        if known is not None and known[0] == record:
            return self.state_type(known[1])
        return None  # unknown: the next renewal reads first

    def _list(self) -> list[LeaseRecord]:
        found: list[LeaseRecord] = []
        for key in self._list_keys():
            name = key[len(self.prefix) :]
            if not is_lease_name(name):
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
            except VersionChanged:
                continue
            return known[0]
        raise self._changing(name, "forced release")

    def _changing(self, name: str, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"the lease object changed {_ROUNDS} times during one {what}; nothing of ours "
            "was written, retry",
            lease=name,
            store=self.url,
        )
