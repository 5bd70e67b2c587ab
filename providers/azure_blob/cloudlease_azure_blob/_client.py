"""``azblob://ACCOUNT/CONTAINER?endpoint=URL&prefix=P``: parse the URL, build the client.

Credentials: the connection string in ``AZURE_STORAGE_CONNECTION_STRING`` when it is set (its
account must be ACCOUNT; it carries its own endpoint), otherwise ``DefaultAzureCredential``
(imported only then) against ``https://ACCOUNT.blob.core.windows.net`` or ``endpoint``. The
async side (``aio=True``) builds the same client from ``azure.storage.blob.aio`` and
``azure.identity.aio``, imported only then.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import ConfigError

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
DEFAULT_PREFIX = "cloudlease/"
_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER = re.compile(r"(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*")
_PREFIX = re.compile(r"[A-Za-z0-9._:/\-]{0,200}")
#: Transport settings: a lease operation must settle within a fraction of the 15 s minimum
#: ttl (the SDK's default retry waits 15 s before its first retry).
RETRY_TOTAL = 3
RETRY_BACKOFF: Any = 0.3  # seconds (the SDK's stubs say int; it takes a float)
RETRY_JITTER: Any = 0.1


def client_options(sdk: Any = None) -> dict[str, Any]:
    """Keyword arguments for the SDK client (``sdk``: ``azure.storage.blob`` by default, or
    its ``aio`` package): short timeouts, quick linear retries."""
    if sdk is None:
        import azure.storage.blob as sdk
    return {
        "retry_policy": sdk.LinearRetry(
            backoff=RETRY_BACKOFF, random_jitter_range=RETRY_JITTER, retry_total=RETRY_TOTAL
        ),
        "connection_timeout": 3,
        "read_timeout": 5,
    }


class Location(Frozen):
    """What an ``azblob://`` URL names."""

    __slots__ = ("account", "container", "endpoint", "prefix")
    _fields = ("account", "container", "prefix", "endpoint")

    account: str
    container: str
    prefix: str
    endpoint: str | None

    def __init__(self, account: str, container: str, prefix: str, endpoint: str | None) -> None:
        put = _PUT_LOCATION
        put[0](self, account)
        put[1](self, container)
        put[2](self, prefix)
        put[3](self, endpoint)

    @property
    def url(self) -> str:
        query = []
        if self.endpoint:
            query.append(f"endpoint={self.endpoint}")
        if self.prefix != DEFAULT_PREFIX:
            query.append(f"prefix={self.prefix}")
        tail = "?" + "&".join(query) if query else ""
        return f"azblob://{self.account}/{self.container}{tail}"


_PUT_LOCATION = setters(Location)


def _bad(url: str, why: str) -> ConfigError:
    return ConfigError(
        f"cannot use store URL {url!r}: {why}. Expected "
        "azblob://ACCOUNT/CONTAINER[?endpoint=URL&prefix=P], e.g. azblob://myacct/leases",
        store=url,
    )


def parse_url(url: str) -> Location:
    """Check and split an ``azblob://`` URL (no request is sent)."""
    parts = urlsplit(url)
    if parts.scheme != "azblob":
        raise _bad(url, "the scheme must be 'azblob'")
    account = parts.netloc
    container = parts.path.strip("/")
    if not _ACCOUNT.fullmatch(account):
        raise _bad(
            url, f"{account!r} is not a storage account name (3-24 lowercase letters/digits)"
        )
    if not _CONTAINER.fullmatch(container):
        raise _bad(
            url,
            f"{container!r} is not a container name (3-63 lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit)",
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"endpoint", "prefix"})
    if unknown:
        raise _bad(url, f"unknown option(s) {', '.join(unknown)}; known: endpoint, prefix")
    if any(len(values) > 1 for values in query.values()):
        raise _bad(url, "each option may be given once")
    endpoint = query.get("endpoint", [None])[0] or None
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise _bad(url, f"endpoint {endpoint!r} must be an http(s) URL")
    prefix = query.get("prefix", [DEFAULT_PREFIX])[0]
    if not _PREFIX.fullmatch(prefix):
        raise _bad(url, f"prefix {prefix!r} may hold letters, digits and '._:/-' (200 at most)")
    return Location(account, container, prefix, endpoint)


def open_client(location: Location, *, aio: bool = False, **overrides: Any) -> tuple[Any, Any]:
    """A ContainerClient for ``location`` (connection string or DefaultAzureCredential), and
    the credential to close with it (None for a connection string); an aio one if ``aio``."""
    if aio:
        from azure.storage.blob import aio as sdk
    else:
        import azure.storage.blob as sdk  # type: ignore[no-redef]
    options = {**client_options(sdk), **overrides}
    connection_string = os.environ.get(CONNECTION_STRING_ENV, "")
    if connection_string:
        try:
            service = sdk.BlobServiceClient.from_connection_string(connection_string, **options)
        except ValueError as exc:
            raise ConfigError(
                f"{CONNECTION_STRING_ENV} is not a valid connection string ({exc}); copy it "
                "from the portal (Access keys) or `az storage account show-connection-string`",
                store=location.url,
            ) from None
        if service.account_name != location.account:
            raise ConfigError(
                f"{CONNECTION_STRING_ENV} is for account {service.account_name!r} but the URL "
                f"names {location.account!r}; fix one of them",
                store=location.url,
            )
        return service.get_container_client(location.container), None
    if aio:  # the credential only when there is no connection string
        from azure.identity.aio import DefaultAzureCredential
    else:
        from azure.identity import DefaultAzureCredential  # type: ignore[assignment]

    endpoint = location.endpoint or f"https://{location.account}.blob.core.windows.net"
    credential = DefaultAzureCredential()
    return sdk.ContainerClient(
        endpoint, location.container, credential=credential, **options
    ), credential
