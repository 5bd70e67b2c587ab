"""Parsing ``firestore://PROJECT/COLLECTION?database=DB&timeout=S&cleanup_after=S``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cloudlease.errors import ConfigError
from cloudlease_firestore._core import DEFAULT_COLLECTION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cloudlease_firestore.store import FirestoreStore

_OPTIONS = {"database": str, "timeout": float, "cleanup_after": float, "max_attempts": int}


def from_url(url: str, **options: Any) -> FirestoreStore:
    """Open ``firestore://PROJECT/COLLECTION`` (``firestore:///COLLECTION``: project from the
    environment; no collection: ``cloudlease_leases``).

    Query options: ``database`` (default ``(default)``), ``timeout`` (seconds per request),
    ``cleanup_after`` (seconds past expiry for the TTL field), ``max_attempts``. Keyword
    ``options`` go to FirestoreStore (``client=``, ``credentials=``, ``clock=``...).
    """
    from cloudlease_firestore.store import FirestoreStore

    project, collection = parse_url(url, options)
    return FirestoreStore(project, collection, **options)


def parse_url(url: str, options: dict[str, Any]) -> tuple[str | None, str]:
    """(project or None, collection) of ``url``; its query options go into ``options``."""
    parts = urlsplit(url)
    path = unquote(parts.path).strip("/")
    if parts.scheme != "firestore" or "/" in path or parts.fragment:
        raise ConfigError(
            f"cannot parse Firestore store URL {url!r}: use "
            "'firestore://PROJECT/COLLECTION?database=DB'",
            store=url,
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - set(_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))} in Firestore store URL {url!r}; "
            f"known: {', '.join(sorted(_OPTIONS))}",
            store=url,
        )
    for key, kind in _OPTIONS.items():
        if key not in query:
            continue
        text = query[key][-1]
        try:
            options.setdefault(key, kind(text))
        except ValueError:
            raise ConfigError(
                f"{key}={text!r} in {url!r} is not a valid {kind.__name__}; give a number, "
                f"e.g. {key}={'3' if kind is int else '10'}",
                store=url,
            ) from None
    return unquote(parts.netloc) or None, path or DEFAULT_COLLECTION
