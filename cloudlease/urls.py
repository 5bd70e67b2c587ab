"""open_store(url): pick a store by URL scheme, through the ``cloudlease.stores`` entry points.

A provider distribution registers ``SCHEME = "package.module:from_url"``; ``from_url(url,
**options)`` returns a store. The embedded stores also work from a source checkout that is not
installed (no entry points), so ``python -m cloudlease demo`` runs from a fresh clone.

The async side of a store comes from the same URL, through ``open_async_store(url)`` and the
``cloudlease.async_stores`` entry points (docs/async.md).

The embedded stores and our own providers are opened by their module path when importable:
reading every installed distribution's entry points (``importlib.metadata``) costs a cold
start more than the provider itself, so it is done only for other schemes and for errors.
"""

from __future__ import annotations

import os
import sys

from cloudlease.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cloudlease.async_store import AsyncLeaseStore
    from cloudlease.store import LeaseStore

ENTRY_POINT_GROUP = "cloudlease.stores"
ASYNC_ENTRY_POINT_GROUP = "cloudlease.async_stores"
ENV_VAR = "CLOUDLEASE_STORE"

_BUILTIN = {
    "memory": "cloudlease.stores.memory:from_url",
    "sqlite": "cloudlease.stores.sqlite:from_url",
}
_ASYNC_BUILTIN = {
    "memory": "cloudlease.stores.aio:memory_from_url",
    "sqlite": "cloudlease.stores.aio:sqlite_from_url",
}
#: Our own providers' sync entry points (their pyproject.toml), opened without reading metadata.
_OWN = {
    "dynamodb": "cloudlease_dynamodb:from_url",
    "firestore": "cloudlease_firestore:from_url",
    "azblob": "cloudlease_azure_blob:from_url",
    "s3": "cloudlease_s3:from_url",
    "gs": "cloudlease_gcs:from_url",
}
#: Which distribution provides a scheme that is not installed.
_PROVIDERS = {
    "dynamodb": "cloudlease[dynamodb] (cloudlease-dynamodb)",
    "firestore": "cloudlease[firestore] (cloudlease-firestore)",
    "azblob": "cloudlease[azure] (cloudlease-azure-blob)",
}
#: Which distribution provides the async side of a scheme.
_ASYNC_PROVIDERS = {
    "dynamodb": "cloudlease-dynamodb[async]",
    "firestore": "cloudlease-firestore",
    "azblob": "cloudlease-azure-blob[async]",
}


def _installed(group: str = ENTRY_POINT_GROUP) -> dict[str, str]:
    """Scheme -> 'module:attr' for every installed store (sync or async side), built-ins
    included."""
    from importlib.metadata import entry_points

    found = dict(_BUILTIN if group == ENTRY_POINT_GROUP else _ASYNC_BUILTIN)
    for entry in entry_points(group=group):
        found[entry.name] = entry.value
    return found


def installed_schemes() -> list[str]:
    """The URL schemes that ``open_store`` can open here."""
    return sorted(_installed())


def _load(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    __import__(module)
    opener: Callable[..., Any] = getattr(sys.modules[module], attr)
    return opener


def open_store(url: str | None = None, **options: Any) -> LeaseStore:
    """Open the store named by ``url`` (default: the ``CLOUDLEASE_STORE`` variable).

    ``options`` go to the store's constructor (clock, takeover_allowance, clock_skew_bound, an
    injected client...).
    For async code, open the same URL with ``open_async_store``.
    """
    store: LeaseStore = _open(url, ENTRY_POINT_GROUP, options)
    return store


def open_async_store(url: str | None = None, **options: Any) -> AsyncLeaseStore:
    """Open the async side of the store named by ``url``: the same URLs and options as
    ``open_store``, with coroutine methods, for ``async with hold(...)`` and the other async
    front doors. Use it as ``async with open_async_store(url) as store:`` (or ``await
    store.close()``) where the store holds a client session."""
    store: AsyncLeaseStore = _open(url, ASYNC_ENTRY_POINT_GROUP, options)
    return store


def _open(url: str | None, group: str, options: dict[str, Any]) -> Any:
    url, scheme = _parse(url)
    known = (_BUILTIN.get(scheme) or _OWN.get(scheme)) if group == ENTRY_POINT_GROUP else None
    if known is not None:
        try:
            opener = _load(known)
        except ModuleNotFoundError as exc:  # that provider is not installed
            if exc.name != known.partition(":")[0]:
                raise
        else:
            return opener(url, **options)
    installed = _installed(group)
    if scheme not in installed:
        raise ConfigError(
            f"no {'async ' if group == ASYNC_ENTRY_POINT_GROUP else ''}store is installed for "
            f"scheme {scheme!r}; installed: {', '.join(sorted(installed))}; "
            + _hint(scheme, group, installed),
            store=url,
        )
    return _load(installed[scheme])(url, **options)


def _hint(scheme: str, group: str, installed: dict[str, str]) -> str:
    """What to install (or call) for a scheme that ``group`` does not have here."""
    providers = _PROVIDERS if group == ENTRY_POINT_GROUP else _ASYNC_PROVIDERS
    if scheme in providers:
        return f"install {providers[scheme]}"
    if group == ASYNC_ENTRY_POINT_GROUP and (scheme in _installed() or scheme in _PROVIDERS):
        return "use its sync side, open_store(url), from a thread"
    return f"known schemes: {', '.join(sorted(set(installed) | set(providers)))}"


def _parse(url: str | None) -> tuple[str, str]:
    """``url`` (default: ``$CLOUDLEASE_STORE``) and its lower-cased scheme, or ConfigError."""
    if url is None:
        url = os.environ.get(ENV_VAR, "")
        if not url:
            raise ConfigError(
                f"no store URL given and {ENV_VAR} is not set; pass a URL such as "
                f"'sqlite:///leases.db' or 'dynamodb://TABLE?region=eu-west-1', or set {ENV_VAR}"
            )
    if not isinstance(url, str):
        raise ConfigError(f"a store URL is a string, got {url!r}")
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise ConfigError(
            f"cannot parse store URL {url!r}: expected SCHEME://..., e.g. 'sqlite:///leases.db'",
            store=url,
        )
    return url, scheme.lower()
