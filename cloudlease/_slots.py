"""Semaphores' slot records: the one naming rule, and the check of ``slots``.

A semaphore of N slots (``hold(store, name, slots=N)``) is N ordinary lease records, one per
slot, named ``NAME.slot-K`` for K in 0..N-1. Such a name passes every store's name rules (it is
a lease name), so a plain lease named ``NAME.slot-K`` *is* slot K of semaphore ``NAME``: it
takes that slot. A semaphore of one slot is the plain lease ``NAME`` itself. Which slot a
holder takes is the lifecycle's decision (``TenureCore`` in ``cloudlease.tenure``).
"""

from __future__ import annotations

from cloudlease._validation import is_lease_name
from cloudlease.errors import ConfigError

#: The most slots a semaphore may have: an acquire tries up to one slot per request.
MAX_SLOTS = 100
SUFFIX = ".slot-"


def slot_record(name: str, slot: int, slots: int) -> str:
    """The record name of slot ``slot`` of semaphore ``name`` (``name`` itself for one slot)."""
    return name if slots == 1 else f"{name}{SUFFIX}{slot}"


def check_slots(slots: object, *, lease: str, store: str) -> int:
    """Return ``slots`` if it is a number of slots ``name``'s records can be named for, else
    raise ConfigError (before any request)."""
    if type(slots) is not int or not 1 <= slots <= MAX_SLOTS:
        raise ConfigError(
            f"slots must be a whole number from 1 to {MAX_SLOTS} (how many holders at once), "
            f"got {slots!r}; use slots=1 for a plain lease",
            lease=lease,
            store=store,
        )
    last = slot_record(lease, slots - 1, slots)
    if not is_lease_name(last):
        raise ConfigError(
            f"the name is too long for {slots} slots: slot records are named "
            f"'NAME{SUFFIX}K', here up to {len(last)} characters, and a lease name stops at "
            "200; shorten the name",
            lease=lease,
            store=store,
        )
    return slots
