"""open_store(url): pick a store by URL scheme, through the ``cloudlease.stores`` entry points.

A provider distribution registers ``SCHEME = "package.module:from_url"``; ``from_url(url,
**options)`` returns a store. The embedded stores also work from a source checkout that is not
installed (no entry points), so ``python -m cloudlease demo`` runs from a fresh clone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import import_module
from typing import Any

from cloudlease.errors import ConfigError
from cloudlease.store import LeaseStore

ENTRY_POINT_GROUP = "cloudlease.stores"
ENV_VAR = "CLOUDLEASE_STORE"

_BUILTIN = {
    "memory": "cloudlease.stores.memory:from_url",
    "sqlite": "cloudlease.stores.sqlite:from_url",
}
#: Which distribution provides a scheme that is not installed.
_PROVIDERS = {
    "dynamodb": "cloudlease[dynamodb] (cloudlease-dynamodb)",
    "firestore": "cloudlease[firestore] (cloudlease-firestore)",
    "azblob": "cloudlease[azure] (cloudlease-azure-blob)",
}

Opener = Callable[..., LeaseStore]


def _installed() -> dict[str, str]:
    """Scheme -> 'module:attr' for every installed store, built-ins included."""
    from importlib.metadata import entry_points

    found = dict(_BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = entry.value
    return found


def installed_schemes() -> list[str]:
    """The URL schemes that ``open_store`` can open here."""
    return sorted(_installed())


def _load(target: str) -> Opener:
    module, _, attr = target.partition(":")
    opener: Opener = getattr(import_module(module), attr)
    return opener


def open_store(url: str | None = None, **options: Any) -> LeaseStore:
    """Open the store named by ``url`` (default: the ``CLOUDLEASE_STORE`` variable).

    ``options`` go to the store's constructor (clock, skew_allowance, an injected client...).
    """
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
    scheme = scheme.lower()
    installed = _installed()
    if scheme not in installed:
        hint = (
            f"install {_PROVIDERS[scheme]}"
            if scheme in _PROVIDERS
            else f"known schemes: {', '.join(sorted(set(installed) | set(_PROVIDERS)))}"
        )
        raise ConfigError(
            f"no store is installed for scheme {scheme!r}; installed: "
            f"{', '.join(sorted(installed))}; {hint}",
            store=url,
        )
    return _load(installed[scheme])(url, **options)
