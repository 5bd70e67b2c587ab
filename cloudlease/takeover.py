"""``cloudlease steal``: take a lease over at once, the safe way to force a takeover.

A thin user of one ``Tenure`` (``Tenure.steal``): the store grants the stealer a greater
token, conditionally on the holder and token it read, so the old holder's renewals and fenced
writes are refused from then on and it steps down. Then, by default, the stealer releases:
the old holder is cut off and the lease is free for the next contender (the old holder
included, with a new token). ``keep=True`` (``--hold``) keeps it instead until its ttl runs
out, unrenewed, so that nobody acquires it meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudlease._validation import Duration
from cloudlease.lease import Lease
from cloudlease.store import LeaseStore, default_holder_id
from cloudlease.tenure import Tenure, TimingPolicy


@dataclass(frozen=True)
class Stolen:
    """What a steal did: the grant, and whether it was released at once."""

    grant: Lease
    released: bool


def steal(
    store: LeaseStore,
    name: str,
    *,
    ttl: Duration,
    holder: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    keep: bool = False,
) -> Stolen:
    """Steal lease ``name``; release it at once unless ``keep`` (then it lapses at its ttl).

    Bad input raises ConfigError before any request; a lease that changed during the steal
    raises StealConflict (nothing written).
    """
    policy = TimingPolicy.for_store(store, lease=name, ttl=ttl)
    tenure = Tenure(
        store,
        name,
        policy=policy,
        holder=holder if holder is not None else f"steal:{default_holder_id()}",
        metadata=metadata,
        release_at_exit=False,
        renewal="manual",
    )
    grant = tenure.steal()
    if keep:
        tenure.abandon("kept by cloudlease steal --hold until its ttl; not renewed")
        return Stolen(grant, released=False)
    return Stolen(grant, released=tenure.release("released by cloudlease steal"))
