"""Input rules, checked before any request is sent. Each refusal is a ConfigError naming the
value, the rule and (when known) the lease and the store."""

from __future__ import annotations

import math
import sys

from cloudlease.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta
    from typing import Any, TypeAlias

#: Lease names: letters, digits and ``._-:``, starting with a letter or digit, 1-200 chars.
#: Every store can hold such a name as a key, document id or blob name unchanged.
NAME_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
NAME_CHARS = NAME_FIRST | frozenset("._:-")
NAME_RULE = (
    "a lease name is 1-200 characters of letters, digits and '._-:', "
    "starting with a letter or digit"
)
#: Metadata: a JSON object whose compact ASCII encoding is at most this many bytes.
METADATA_MAX_BYTES = 1024

Duration: TypeAlias = "float | int | timedelta"


def is_lease_name(name: str) -> bool:
    """True for 1-200 letters, digits and ``._-:``, the first a letter or digit (no regex: the
    ``re`` module costs a cold start a few ms, and this runs on every operation)."""
    return 0 < len(name) <= 200 and name[0] in NAME_FIRST and NAME_CHARS.issuperset(name)


def is_holder_id(holder: str) -> bool:
    """True for 1-200 printable ASCII characters without a space at either end."""
    return (
        0 < len(holder) <= 200
        and holder.isascii()
        and holder.isprintable()
        and holder[0] != " "
        and holder[-1] != " "
    )


def check_name(name: object, *, store: str | None = None) -> str:
    """Return ``name`` if it is a valid lease name, else raise ConfigError."""
    if not isinstance(name, str) or not is_lease_name(name):
        shown = name if not isinstance(name, str) or len(name) <= 60 else name[:57] + "..."
        raise ConfigError(
            f"invalid lease name {shown!r}: {NAME_RULE}. Rename the lease, e.g. 'nightly-report'.",
            store=store,
        )
    return name


def check_holder(holder: object, *, lease: str | None = None, store: str | None = None) -> str:
    """Return ``holder`` if it is a valid holder id, else raise ConfigError."""
    if not isinstance(holder, str) or not is_holder_id(holder):
        raise ConfigError(
            f"invalid holder id {holder!r}: a holder id is 1-200 printable ASCII characters "
            "without leading or trailing spaces. Pass holder=None to get a unique default.",
            lease=lease,
            store=store,
        )
    return holder


def to_seconds(
    value: object,
    *,
    what: str,
    lease: str | None = None,
    store: str | None = None,
    allow_zero: bool = False,
    allow_infinite: bool = False,
    hint: str = "",
) -> float:
    """Turn a duration (float seconds or timedelta) into positive, finite float seconds.

    ``hint`` (what the setting means, how to choose it) ends the message of a refusal."""
    why = f"; {hint}" if hint else ""
    kind = type(value)
    if kind is float or kind is int:
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, _timedelta()):
        seconds = value.total_seconds()  # type: ignore[attr-defined]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(
            f"{what} must be seconds (int or float) or a timedelta, got {value!r}{why}",
            lease=lease,
            store=store,
        )
    if seconds == math.inf and allow_infinite:
        return seconds
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(
            f"{what} must be a finite number of seconds {bound}, got {value!r}{why}",
            lease=lease,
            store=store,
        )
    return seconds


def check_ttl(
    ttl: object,
    *,
    lease: str,
    store: str,
    min_ttl: float,
    max_ttl: float | None,
    rule: str = "",
) -> float:
    """Return ttl in seconds if it fits the store's bounds, else raise ConfigError.

    ``rule`` is the store's own explanation of its bounds, added to the message."""
    seconds = to_seconds(ttl, what="ttl", lease=lease, store=store)
    why = f": {rule}" if rule else ""
    if seconds < min_ttl:
        raise ConfigError(
            f"ttl {seconds:g}s is below this store's minimum of {min_ttl:g}s{why}; "
            f"use ttl >= {min_ttl:g}",
            lease=lease,
            store=store,
        )
    if max_ttl is not None and seconds > max_ttl:
        raise ConfigError(
            f"ttl {seconds:g}s is above this store's maximum of {max_ttl:g}s{why}; "
            f"use ttl <= {max_ttl:g} (a long job renews the lease, it does not need a long ttl)",
            lease=lease,
            store=store,
        )
    return seconds


def check_metadata(
    metadata: object, *, lease: str | None = None, store: str | None = None
) -> dict[str, Any]:
    """Return a copy of ``metadata`` if it is a small JSON object, else raise ConfigError."""
    if metadata is None or (type(metadata) is dict and not metadata):
        return {}
    from collections.abc import Mapping

    if not isinstance(metadata, Mapping):
        raise ConfigError(
            f"metadata must be a JSON object (a dict with str keys), got {type(metadata).__name__}",
            lease=lease,
            store=store,
        )
    try:
        encoded = encode_metadata(dict(metadata))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"metadata is not JSON-serialisable ({exc}); use str, int, float, bool, None, "
            "lists and dicts with str keys",
            lease=lease,
            store=store,
        ) from None
    if len(encoded) > METADATA_MAX_BYTES:
        raise ConfigError(
            f"metadata is {len(encoded)} bytes as compact JSON, over the limit of "
            f"{METADATA_MAX_BYTES}; keep it to a few identifying fields",
            lease=lease,
            store=store,
        )
    import json

    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


def encode_metadata(metadata: Mapping[str, Any]) -> str:
    """The one encoding of metadata every store writes: compact, ASCII, sorted keys."""
    if any(not isinstance(key, str) for key in metadata):
        raise TypeError("keys must be str")
    import json

    return json.dumps(
        metadata, separators=(",", ":"), ensure_ascii=True, sort_keys=True, allow_nan=False
    )


def _timedelta() -> type:
    """``datetime.timedelta`` if ``datetime`` is loaded (a caller who passes a timedelta has
    loaded it), else a type nothing is an instance of: ``datetime`` stays out of a cold start."""
    datetime = sys.modules.get("datetime")
    found: type = _NoTimedelta if datetime is None else datetime.timedelta
    return found


class _NoTimedelta:
    pass
