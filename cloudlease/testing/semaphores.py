"""The checks of a semaphore's history: at most N holders at once, and each slot a lease.

A semaphore of N slots is N lease records; its history's events about one record carry the
record's name in ``lease`` (``cloudlease.testing.history``). ``check_semaphore_history`` runs
the count across the slots ("at most N": no instant where more than N holders consider
themselves valid by their own deadlines), the whole history's checks (not stuck, ambiguous
outcomes: attempt numbers are unique across slots) and, on each slot's own events, the checks
of a single lease (its fenced sink, one holder at a time, tokens that only grow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cloudlease.testing.history import (
    EPSILON,
    Event,
    Tenure,
    Violation,
    check_ambiguous,
    check_not_stuck,
    check_single_holder,
    check_sink,
    check_tenure_order,
    check_tokens,
    tenures,
)

#: The checks of one lease, run on each slot's events.
PER_SLOT: dict[str, Callable[[list[Event]], list[Violation]]] = {
    "fenced sink": check_sink,
    "single holder": check_single_holder,
    "tokens": check_tokens,
    "token order": check_tenure_order,
}
#: The checks of the whole history.
WHOLE: dict[str, Callable[[list[Event]], list[Violation]]] = {
    "not stuck": check_not_stuck,
    "ambiguous outcomes": check_ambiguous,
}


def _valid_at_starts(events: Iterable[Event]) -> list[tuple[float, list[Tenure]]]:
    """At each tenure's start (where the most overlap is found), the tenures valid then."""
    ordered = [t for t in tenures(events) if t.end > t.start]
    return [
        (
            tenure.start,
            [o for o in ordered if o.start <= tenure.start and o.end > tenure.start + EPSILON],
        )
        for tenure in ordered
    ]


def most_at_once(events: Iterable[Event]) -> int:
    """The most holders that considered themselves valid at one instant."""
    return max((len({t.holder for t in valid}) for _, valid in _valid_at_starts(events)), default=0)


def check_at_most(events: Iterable[Event], slots: int) -> list[Violation]:
    """At no instant do more than ``slots`` holders consider themselves valid, whichever
    records they hold."""
    problems = []
    for instant, valid in _valid_at_starts(events):
        holders = {t.holder for t in valid}
        if len(holders) > slots:
            named = ", ".join(
                f"{t.holder} (token {t.token} on {t.lease or '?'}, until {t.end:.3f})"
                for t in valid
            )
            problems.append(
                Violation(
                    f"{len(holders)} holders valid at {instant:.3f}, over {slots}: {named}",
                    actors=holders,
                    tokens=[t.token for t in valid],
                    until=instant,
                )
            )
    return problems


def slot_events(events: list[Event], lease: str) -> list[Event]:
    """The events of one slot record, and those about no record in particular (crashes)."""
    return [e for e in events if e.lease in (lease, "")]


def check_semaphore_history(events: list[Event], slots: int) -> list[Violation]:
    """Every check of a semaphore of ``slots`` slots; each violation is prefixed with the
    check's name (and the slot record's, for the per-slot checks)."""
    problems = [problem.named("at most N") for problem in check_at_most(events, slots)]
    problems += [problem.named(name) for name, check in WHOLE.items() for problem in check(events)]
    for lease in sorted({e.lease for e in events if e.lease}):
        mine = slot_events(events, lease)
        problems += [
            problem.named(f"{name} of {lease}")
            for name, check in PER_SLOT.items()
            for problem in check(mine)
        ]
    return problems
