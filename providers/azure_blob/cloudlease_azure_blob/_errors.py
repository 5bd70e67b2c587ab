"""Turn Azure SDK exceptions into cloudlease errors that name account, container, blob and fix."""

from __future__ import annotations

from enum import Enum

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
)

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import CloudLeaseError, StoreMisconfigured, StoreUnavailable

ROLE = "Storage Blob Data Contributor"
_AUTHENTICATION_CODES = frozenset(
    {"AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation"}
)


def error_code(exc: BaseException) -> str:
    """The storage error code of ``exc`` (``""`` when it has none)."""
    code = getattr(exc, "error_code", None)
    if isinstance(code, Enum):
        code = code.value
    return str(code) if code else ""


def status_of(exc: BaseException) -> int:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 0


class Where(Frozen):
    """What an error is about: the account, the container, the store URL."""

    __slots__ = ("account", "container", "url")
    _fields = ("account", "container", "url")

    account: str
    container: str
    url: str

    def __init__(self, account: str, container: str, url: str) -> None:
        put = _PUT_WHERE
        put[0](self, account)
        put[1](self, container)
        put[2](self, url)

    def blob(self, blob: str | None) -> str:
        where = f"account {self.account!r}, container {self.container!r}"
        return f"{where}, blob {blob!r}" if blob else where


_PUT_WHERE = setters(Where)


def translate(
    exc: AzureError, where: Where, *, lease: str | None, blob: str | None, write: bool
) -> CloudLeaseError:
    """The cloudlease error for an Azure SDK error the store did not expect.

    ``write`` says whether the request may have changed the blob: a lost response or a 5xx
    after a write was sent is ambiguous (``StoreUnavailable(ambiguous=True)``).
    """
    at = where.blob(blob)
    code = error_code(exc)
    status = status_of(exc)
    message = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
    if code == "ContainerNotFound":
        return StoreMisconfigured(
            f"the container does not exist ({at}); create it with "
            f"`cloudlease init --store {where.url}` or the Terraform module",
            lease=lease,
            store=where.url,
        )
    if isinstance(exc, ClientAuthenticationError) and not isinstance(exc, HttpResponseError):
        return StoreMisconfigured(
            f"no usable credential for {at} ({message}); set AZURE_STORAGE_CONNECTION_STRING "
            "or configure DefaultAzureCredential (az login, managed identity, AZURE_CLIENT_ID...)",
            lease=lease,
            store=where.url,
        )
    if code in _AUTHENTICATION_CODES or (
        code == "AuthorizationFailure" and "authenticate" in message.lower()
    ):
        return StoreMisconfigured(
            f"authentication failed for {at} ({code}); check the account key in "
            "AZURE_STORAGE_CONNECTION_STRING, or the identity DefaultAzureCredential uses",
            lease=lease,
            store=where.url,
        )
    if status == 403:
        return StoreMisconfigured(
            f"not authorized on {at} ({code or status}); grant the identity the role "
            f"'{ROLE}' on the container or its storage account",
            lease=lease,
            store=where.url,
        )
    if isinstance(exc, ServiceRequestError):
        return StoreUnavailable(
            f"cannot reach {at} ({message}); check the endpoint and the network, then retry",
            lease=lease,
            store=where.url,
        )
    ambiguous = write and (not isinstance(exc, HttpResponseError) or status >= 500 or status == 0)
    return StoreUnavailable(
        f"request to {at} failed ({code or status or type(exc).__name__}: {message}); retry",
        lease=lease,
        store=where.url,
        ambiguous=ambiguous,
    )
