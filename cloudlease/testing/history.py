"""Histories of one lease under contention, and the checks that say whether a history was safe.

A history is a list of ``Event`` s on one monotonic time line shared by every contender (a
FakeClock in a simulation, the host's ``time.monotonic()`` across processes). Contenders record
what they were told (``granted``, ``renewed``) and what they did (``claim`` before a fenced
write, ``stopped``, ``crashed``); a store wrapper records what the store really applied
(``applied``, ``read_back``) and how each acquire call ended (``attempt``). The checkers below
each test one guarantee of DESIGN.md and return violations (empty when all is well): each a
readable sentence that also carries what it is about (actors, tokens, the last instant), so
``check_history`` runs them all and ``excerpt`` prints the few events a violation is about
without reading its sentence back.

Event kinds and their fields (``t`` and ``actor`` always):

=============  =====================================================================
granted        acquire returned a lease: ``token``, ``deadline`` (local, monotonic)
renewed        a renewal returned: ``token``, ``deadline``
stopped        the holder stopped acting on ``token`` (before its release was sent)
crashed        the actor died: every tenure it had ends here, nothing is released
claim          about to do a fenced write with ``token``; ``deadline`` as believed
write          the fenced sink's answer: ``token``, ``ok`` (accepted)
applied        the store applied an acquisition: ``token``, ``attempt``; ``detail`` "steal"
               when it took the lease from a live holder (``Tenure.steal``)
renew_applied  the store applied a renewal of ``token`` (a lost reply included)
read_back      an acquire's read-back saw our attempt's write (``ok``): ``attempt``
attempt        an acquire (or steal) call ended: ``attempt``, ``detail`` (granted | held |
               unavailable | unknown | crashed), ``token`` when granted
deleted        the record was deleted (a TTL sweep, an operator)
all_stopped    every contender has stopped or crashed: ``deadline`` = the stuck bound
probe          a fresh contender acquired: ``token``
=============  =====================================================================

On a semaphore (``cloudlease.testing.semaphores``), the events about one record (granted,
renewed, stopped, claim, write, applied, deleted) also carry its name in ``lease``.

A steal ends every earlier grant of its record at the instant the store applied it: the old
holder may still act until its next renewal fails, and only fencing stops its writes then, so
its belief past the steal is not counted as a second holder (``tenures``); ``check_steals``
checks that the store never renews an older grant after the steal, and the sink check that
the old token is refused once the new one wrote.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cloudlease._fenced_sink import fencing_violations
from cloudlease.testing.sink import SinkWrite

#: How close two instants may be and still count as the same (float rounding), seconds.
EPSILON = 1e-6


class Violation(str):
    """One broken guarantee: the sentence (a Violation is the str it reads as) and what it is
    about: the ``actors`` and ``tokens`` it names, ``until`` the last instant it concerns, and
    event ``kinds`` worth showing next to it."""

    actors: frozenset[str]
    tokens: frozenset[int]
    until: float
    kinds: frozenset[str]

    def __new__(
        cls,
        text: str,
        *,
        actors: Collection[str] = (),
        tokens: Collection[int | None] = (),
        until: float = float("inf"),
        kinds: Collection[str] = (),
    ) -> Violation:
        violation = super().__new__(cls, text)
        violation.actors = frozenset(actors)
        violation.tokens = frozenset(t for t in tokens if t is not None)
        violation.until = until
        violation.kinds = frozenset(kinds)
        return violation

    def named(self, check: str) -> Violation:
        """The same violation, its sentence prefixed with the check's name."""
        return Violation(
            f"{check}: {self}",
            actors=self.actors,
            tokens=self.tokens,
            until=self.until,
            kinds=self.kinds,
        )


@dataclass(frozen=True)
class Event:
    """One thing that happened, at ``t`` on the shared monotonic clock."""

    t: float
    actor: str
    kind: str
    token: int | None = None
    deadline: float | None = None
    ok: bool | None = None
    attempt: int | None = None
    detail: str = ""
    lease: str = ""  # the record it is about, where that matters (a semaphore's slots)

    def line(self) -> str:
        """The event as one readable line."""
        parts = [f"{self.t:12.3f}  {self.actor:<10} {self.kind}"]
        if self.token is not None:
            parts.append(f"token={self.token}")
        if self.deadline is not None:
            parts.append(f"deadline={self.deadline:.3f}")
        if self.ok is not None:
            parts.append(f"ok={self.ok}")
        if self.attempt is not None:
            parts.append(f"attempt={self.attempt}")
        if self.detail:
            parts.append(self.detail)
        if self.lease:
            parts.append(f"lease={self.lease}")
        return " ".join(parts)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Event:
        fields: dict[str, Any] = json.loads(text)
        return cls(**fields)


class History:
    """A thread-safe event log on one clock (``now`` returns its monotonic time)."""

    def __init__(self, now: Callable[[], float], seed: int | None = None) -> None:
        self.now = now
        self.seed = seed
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def record(self, actor: str, kind: str, **fields: Any) -> Event:
        event = Event(self.now(), actor, kind, **fields)
        with self._lock:
            self.events.append(event)
        return event

    def extend(self, events: Iterable[Event]) -> None:
        with self._lock:
            self.events.extend(events)

    def counts(self) -> dict[str, int]:
        """How many events of each kind (``attempt`` split by outcome)."""
        found: dict[str, int] = {}
        for event in self.events:
            key = f"attempt:{event.detail}" if event.kind == "attempt" else event.kind
            found[key] = found.get(key, 0) + 1
        return found


# -- the checks ------------------------------------------------------------------------------


def sink_writes(events: Iterable[Event]) -> list[SinkWrite]:
    """The fenced sink's log (``write`` events) as SinkWrite rows, in the sink's order."""
    return [
        SinkWrite(seq, e.token or 0, e.actor, e.detail, bool(e.ok), e.t)
        for seq, e in enumerate((e for e in events if e.kind == "write"), start=1)
    ]


def check_sink(events: Iterable[Event]) -> list[Violation]:
    """The fenced sink accepts tokens in non-decreasing order, a token from one holder only.

    So a holder's writes are refused once another holder's (greater) token was accepted, and
    the accepted tokens strictly increase whenever the writer changes.
    """
    writes = sink_writes(events)
    problems = [_about(text, write, other) for write, other, text in fencing_violations(writes)]
    last: SinkWrite | None = None
    for write in writes:
        if not write.accepted:
            continue
        if last is not None and write.holder != last.holder and write.token <= last.token:
            text = (
                f"sink accepted token {write.token} from {write.holder} after token "
                f"{last.token} from {last.holder}"
            )
            problems.append(_about(text, write, last))
        last = write
    return problems


def _about(text: str, *writes: SinkWrite) -> Violation:
    return _between(text, *((w.holder, w.token, w.at) for w in writes))


def _between(text: str, *parties: tuple[str, int | None, float]) -> Violation:
    """A violation about holders that conflict: (actor, token, the instant it concerns) each."""
    return Violation(
        text,
        actors=[actor for actor, _, _ in parties],
        tokens=[token for _, token, _ in parties],
        until=max(instant for _, _, instant in parties),
    )


@dataclass
class Tenure:
    """When one holder believed itself valid with one token: ``start`` until ``end``."""

    holder: str
    token: int
    start: float
    end: float
    lease: str = ""


def tenures(events: Iterable[Event]) -> list[Tenure]:
    """Each grant's tenure: from the grant until its latest deadline, cut where it stopped.

    A holder that stopped acting (``stopped``) or died (``crashed``) is no longer valid from
    that instant; one that froze is valid until its deadline all the same.
    """
    found: dict[tuple[str, int], Tenure] = {}
    ended: set[tuple[str, int]] = set()  # a renewal landing after the stop extends nothing
    steals: dict[str, list[tuple[int, float]]] = {}  # record: (token, instant) of each steal
    for event in events:
        if event.kind in ("granted", "renewed", "claim") and event.token is not None:
            key = (event.actor, event.token)
            if key in ended:
                continue
            deadline = event.deadline if event.deadline is not None else event.t
            stolen = _stolen_at(steals.get(event.lease, ()), event.token)
            if stolen is not None:  # a grant older than a steal: over at the steal
                deadline = min(deadline, stolen)
                ended.add(key)
            tenure = found.get(key)
            if tenure is None:
                found[key] = Tenure(event.actor, event.token, event.t, deadline, event.lease)
            elif stolen is not None:
                tenure.end = min(tenure.end, stolen)
            else:
                tenure.start = min(tenure.start, event.t)
                tenure.end = max(tenure.end, deadline)
        elif event.kind == "stopped" and event.token is not None:
            tenure = found.get((event.actor, event.token))
            ended.add((event.actor, event.token))
            if tenure is not None:
                tenure.end = min(tenure.end, event.t)
        elif event.kind == "crashed":
            for key, tenure in found.items():
                if key[0] == event.actor:
                    tenure.end = min(tenure.end, event.t)
                    ended.add(key)
        elif event.kind == "applied" and event.detail == "steal" and event.token is not None:
            steals.setdefault(event.lease, []).append((event.token, event.t))
            for key, tenure in found.items():
                if tenure.lease == event.lease and tenure.token < event.token:
                    tenure.end = min(tenure.end, event.t)
                    ended.add(key)
    return sorted(found.values(), key=lambda tenure: (tenure.start, tenure.token))


def _stolen_at(steals: Iterable[tuple[int, float]], token: int) -> float | None:
    """The instant the first steal of a greater token than ``token`` was applied, if any."""
    return min((at for stolen, at in steals if stolen > token), default=None)


def check_single_holder(events: Iterable[Event]) -> list[Violation]:
    """At no instant do two holders both consider themselves valid by their own deadlines."""
    problems = []
    ordered = tenures(events)
    latest: Tenure | None = None  # the tenure reaching furthest so far
    for tenure in ordered:
        if tenure.end <= tenure.start:
            continue
        if (
            latest is not None
            and latest.holder != tenure.holder
            and tenure.start < latest.end - EPSILON
        ):
            text = (
                f"{tenure.holder} (token {tenure.token}) valid from {tenure.start:.3f} while "
                f"{latest.holder} (token {latest.token}) was valid until {latest.end:.3f}"
            )
            problems.append(
                _between(
                    text,
                    (tenure.holder, tenure.token, tenure.start),
                    (latest.holder, latest.token, latest.end),
                )
            )
        if latest is None or tenure.end > latest.end:
            latest = tenure
    return problems


def check_tokens(events: Iterable[Event]) -> list[Violation]:
    """Every acquisition the store applied has a greater token than the one before.

    Re-entry, release, expiry and deletion of the record included: ``applied`` events are
    recorded in the order the store applied them.
    """
    problems = []
    previous: Event | None = None
    for event in events:
        if event.kind != "applied" or event.token is None:
            continue
        if previous is not None and previous.token is not None and event.token <= previous.token:
            text = (
                f"the store granted token {event.token} to {event.actor} at {event.t:.3f} "
                f"after token {previous.token} to {previous.actor} at {previous.t:.3f}"
            )
            problems.append(_between(text, *((e.actor, e.token, e.t) for e in (event, previous))))
        previous = event
    return problems


def check_steals(events: Iterable[Event]) -> list[Violation]:
    """After a steal, the store renews no older grant of that record: the old holder's next
    renewal fails, so it steps down (``applied`` with detail "steal", then ``renew_applied``)."""
    problems = []
    steals: dict[str, list[Event]] = {}
    for event in events:
        if event.token is None:
            continue
        if event.kind == "applied" and event.detail == "steal":
            steals.setdefault(event.lease, []).append(event)
        elif event.kind == "renew_applied":
            for steal in steals.get(event.lease, ()):
                if steal.token is not None and event.token < steal.token:
                    text = (
                        f"the store renewed {event.actor}'s token {event.token} at "
                        f"{event.t:.3f} after {steal.actor} stole the lease with token "
                        f"{steal.token} at {steal.t:.3f}"
                    )
                    problems.append(
                        _between(text, *((e.actor, e.token, e.t) for e in (event, steal)))
                    )
                    break
    return problems


def check_tenure_order(events: Iterable[Event]) -> list[Violation]:
    """Tokens grow with time: each holder's tenure starts with a greater token than the one
    before it (the check for runs across processes, where the store's own apply order is not
    observable; it is implied by the single-holder check for tenures that did not overlap)."""
    problems = []
    ordered = [t for t in tenures(events) if t.end > t.start]
    for earlier, later in itertools.pairwise(ordered):
        if later.holder != earlier.holder and later.token <= earlier.token:
            text = (
                f"{later.holder} started a tenure with token {later.token} at {later.start:.3f} "
                f"after {earlier.holder} had token {earlier.token} from {earlier.start:.3f}"
            )
            problems.append(
                _between(text, *((t.holder, t.token, t.start) for t in (later, earlier)))
            )
    return problems


def check_not_stuck(events: Iterable[Event]) -> list[Violation]:
    """Once every holder stopped or crashed, a fresh contender acquires within the bound.

    ``all_stopped`` carries the bound (ttl + takeover allowance + the skew between the last holder
    and the prober + one retry period) as ``deadline``; ``probe`` is the prober's grant.
    """
    stopped = [e for e in events if e.kind == "all_stopped"]
    probes = [e for e in events if e.kind == "probe"]
    if not stopped:
        return []
    shown = ("all_stopped", "probe")
    if not probes:
        text = f"nobody acquired after every holder stopped at {stopped[-1].t:.3f}"
        return [Violation(text, until=stopped[-1].t, kinds=shown)]
    bound = stopped[-1].deadline or 0.0
    took = probes[-1].t - stopped[-1].t
    if took > bound + EPSILON:
        text = (
            f"the lease was stuck: a contender acquired {took:.3f}s after every holder "
            f"stopped, beyond the bound of {bound:.3f}s"
        )
        return [Violation(text, until=probes[-1].t, kinds=shown)]
    return []


def check_ambiguous(events: Iterable[Event]) -> list[Violation]:
    """No acquisition is lost or duplicated through an ambiguous outcome.

    Per acquire call (``attempt`` numbers are unique in a history): a lease is returned only if
    the store applied this very call's write, with its token (not duplicated); a write the store
    applied is reported as ours, unless the read-back could not tell (the call then raises an
    ambiguous StoreUnavailable) or no longer found it (not lost). A token is one record's: two
    slots of a semaphore may grant the same number.
    """
    applied: dict[int, Event] = {}
    seen_back: dict[int, bool] = {}
    granted_tokens: dict[tuple[str, int], int] = {}  # (record, token): the attempt
    problems = []

    def problem(text: str, event: Event, *tokens: int | None) -> Violation:
        return Violation(text, actors=(event.actor,), tokens=tokens, until=event.t)

    for event in events:
        if event.attempt is None:
            continue
        key = event.attempt
        if event.kind == "applied":
            applied[key] = event
        elif event.kind == "read_back":
            seen_back[key] = seen_back.get(key, False) or bool(event.ok)
        elif event.kind == "attempt":
            write = applied.get(key)
            outcome = event.detail
            if outcome == "granted":
                if write is None or write.token != event.token:
                    text = (
                        f"{event.actor} attempt {event.attempt} was granted token {event.token} "
                        f"but the store applied {write.token if write else 'nothing'} for it"
                    )
                    problems.append(
                        problem(text, event, event.token, write.token if write else None)
                    )
                if event.token is not None:
                    record = write.lease if write is not None else ""
                    other = granted_tokens.setdefault((record, event.token), key)
                    if other != key:
                        text = (
                            f"token {event.token} granted to attempt {key} and to attempt {other}"
                        )
                        problems.append(problem(text, event, event.token))
            elif write is not None and outcome in ("held", "unavailable") and seen_back.get(key):
                text = (
                    f"{event.actor} attempt {event.attempt}: the store applied token "
                    f"{write.token} and the read-back saw it, yet the call said {outcome}"
                )
                problems.append(problem(text, event, write.token))
            elif write is not None and outcome == "unavailable" and key not in seen_back:
                text = (
                    f"{event.actor} attempt {event.attempt}: the store applied token "
                    f"{write.token} but the call reported a plain failure (not ambiguous)"
                )
                problems.append(problem(text, event, write.token))
    return problems


CHECKS: Mapping[str, Callable[[list[Event]], list[Violation]]] = {
    "fenced sink": check_sink,
    "single holder": check_single_holder,
    "tokens": check_tokens,
    "token order": check_tenure_order,
    "steals": check_steals,
    "not stuck": check_not_stuck,
    "ambiguous outcomes": check_ambiguous,
}


def check_history(events: list[Event], skip: Iterable[str] = ()) -> list[Violation]:
    """Every check above but those named in ``skip``; each violation is prefixed with the
    check's name."""
    skipped = set(skip)
    return [
        problem.named(name)
        for name, check in CHECKS.items()
        if name not in skipped
        for problem in check(events)
    ]


def excerpt(events: list[Event], problem: str, limit: int = 40) -> str:
    """The events a violation is about: those of the actors and tokens it names (and crashes,
    freezes, deletions), up to the last instant it concerns, at most ``limit`` lines.

    ``problem`` is a Violation from the checks above; a plain sentence names nothing, so the
    last ``limit`` events are shown.
    """
    if not isinstance(problem, Violation):
        return "\n".join(event.line() for event in events[-limit:])
    about = problem
    relevant = [
        e
        for e in events
        if (
            e.t <= about.until + EPSILON
            and (
                e.actor in about.actors
                or (e.token is not None and e.token in about.tokens)
                or e.kind in ("crashed", "deleted", "freeze", "expired")
            )
            and e.kind not in ("fault",)
        )
        or e.kind in about.kinds
    ]
    shown = relevant[-limit:] if relevant else events[-limit:]
    return "\n".join(event.line() for event in shown)
