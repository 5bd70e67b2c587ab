"""botocore failures -> cloudlease errors that name the table, the region and the next step."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import CloudLeaseError, StoreMisconfigured, StoreUnavailable
from cloudlease_dynamodb.schema import IAM_ACTIONS, INIT_IAM_ACTIONS

#: Error codes DynamoDB uses when it sheds load; retried with jittered backoff.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
    }
)
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredTokenException",
        "ExpiredToken",
        "RequestExpired",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
    }
)
_ACCESS_CODES = frozenset({"AccessDeniedException", "AccessDenied"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


class Translator(Frozen):
    """Knows where the store points, to say so in every error."""

    __slots__ = ("credential_chain", "credential_source", "region", "table", "url")
    _fields = ("table", "region", "url", "credential_chain", "credential_source")

    table: str
    region: str
    url: str
    credential_chain: Callable[[], str]
    credential_source: Callable[[], str]

    def __init__(
        self,
        table: str,
        region: str,
        url: str,
        credential_chain: Callable[[], str],
        credential_source: Callable[[], str],
    ) -> None:
        put = _PUT_TRANSLATOR
        put[0](self, table)
        put[1](self, region)
        put[2](self, url)
        put[3](self, credential_chain)
        put[4](self, credential_source)

    def __call__(self, exc: BaseException, *, lease: str | None, write: bool) -> CloudLeaseError:
        """The cloudlease error for ``exc``; ``write`` says whether a write may have applied."""
        where = f"table {self.table} in region {self.region}"
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StoreMisconfigured(
                f"no usable AWS credentials for {where} ({exc}); tried, in order: "
                f"{self.credential_chain()}. Set AWS_PROFILE or ?profile=, export "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run on a role",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, CredentialRetrievalError):
            return StoreMisconfigured(
                f"AWS credentials could not be loaded for {where} ({exc}); refresh them "
                "(e.g. aws sso login) and retry",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, ClientError):
            return self._client_error(exc, lease=lease, write=write, where=where)
        if isinstance(exc, ConnectionError):  # never reached the service: nothing applied
            return StoreUnavailable(
                f"cannot connect to DynamoDB for {where} ({exc}); nothing was written. Check "
                "the network / endpoint_url and retry",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, HTTPClientError | BotoCoreError):  # timeout / reset after sending
            return StoreUnavailable(
                f"no response from DynamoDB for {where} ({exc}); "
                + ("the write may have been applied" if write else "retry"),
                lease=lease,
                store=self.url,
                ambiguous=write,
            )
        return StoreUnavailable(
            f"unexpected failure talking to DynamoDB for {where} ({exc!r}); retry",
            lease=lease,
            store=self.url,
            ambiguous=write,
        )

    def _client_error(
        self, exc: ClientError, *, lease: str | None, write: bool, where: str
    ) -> CloudLeaseError:
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "ResourceNotFoundException":
            return StoreMisconfigured(
                f"{where} does not exist; create it with `cloudlease init --store {self.url}` "
                "or the Terraform module terraform/dynamodb",
                lease=lease,
                store=self.url,
            )
        if code in _ACCESS_CODES or (status == 403 and "AccessDenied" in message):
            return StoreMisconfigured(
                f"access denied on {where} ({_short(message)}); grant the caller "
                f"{', '.join(IAM_ACTIONS)} on the table (and {', '.join(INIT_IAM_ACTIONS)} "
                "for cloudlease init)",
                lease=lease,
                store=self.url,
            )
        if code in _CREDENTIAL_CODES or status == 403:
            return StoreMisconfigured(
                f"AWS rejected the credentials for {where} ({code or status}: "
                f"{_short(message)}); they came from {self.credential_source()}. Refresh or "
                "replace them and retry",
                lease=lease,
                store=self.url,
            )
        if code in THROTTLING_CODES:
            return StoreUnavailable(
                f"DynamoDB kept throttling {where} ({code}) past the retry budget; nothing was "
                "written. Use on-demand capacity or raise it, or retry later",
                lease=lease,
                store=self.url,
            )
        if status >= 500:
            return StoreUnavailable(
                f"DynamoDB failed on {where} ({code or status}: {_short(message)}); "
                + ("the write may have been applied" if write else "retry"),
                lease=lease,
                store=self.url,
                ambiguous=write,
            )
        return StoreMisconfigured(
            f"DynamoDB refused the request on {where} ({code}: {_short(message)}); check that "
            "the table was created by cloudlease init or terraform/dynamodb",
            lease=lease,
            store=self.url,
        )


_PUT_TRANSLATOR = setters(Translator)


def _short(message: str, limit: int = 240) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
