"""botocore failures -> cloudlease errors that name the bucket, the prefix and the next step."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from cloudlease.errors import CloudLeaseError, StoreMisconfigured, StoreUnavailable
from cloudlease.stores.objects import Place, shorten

#: What a holder needs on ``arn:aws:s3:::BUCKET/PREFIX*`` (and ListBucket on the bucket,
#: limited to the prefix, for ``cloudlease status``); DeleteObject only for delete_record.
IAM_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket")
#: Codes S3 answers when it sheds load: nothing was applied, retried with backoff.
THROTTLING_CODES = frozenset({"SlowDown", "503", "RequestLimitExceeded", "Throttling"})
#: A conditional write raced another conditional write on the same key (real S3 only): not
#: applied; retried, and never taken to mean "held elsewhere" until the object is read.
CONFLICT_CODE = "ConditionalRequestConflict"
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "RequestTimeTooSkewed",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def status_of(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_retryable(exc: BaseException) -> bool:
    """Throttling or a conditional-write conflict: surely not applied, worth retrying."""
    return isinstance(exc, ClientError) and (
        error_code(exc) in THROTTLING_CODES
        or error_code(exc) == CONFLICT_CODE
        or status_of(exc) == 409
    )


class Translator(Place):
    """Knows where the store points (``Place``), to say so in every error."""

    def __call__(self, exc: BaseException, *, lease: str | None, write: bool) -> CloudLeaseError:
        """The cloudlease error for ``exc``; ``write`` says whether a write may have applied."""
        where = self.where
        if isinstance(exc, CloudLeaseError):
            return exc
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StoreMisconfigured(
                f"no usable AWS credentials for {where} ({exc}); set AWS_PROFILE or ?profile=, "
                "export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run on a role",
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
            return self._client_error(exc, lease=lease, write=write)
        if isinstance(exc, ConnectionError):  # never reached the service: nothing applied
            return StoreUnavailable(
                f"cannot connect to S3 for {where} ({exc}); nothing was written. Check the "
                "network / endpoint_url and retry",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, HTTPClientError | BotoCoreError):  # timeout / reset after sending
            return StoreUnavailable(
                f"no response from S3 for {where} ({exc}); "
                + ("the write may have been applied" if write else "retry"),
                lease=lease,
                store=self.url,
                ambiguous=write,
            )
        return StoreUnavailable(
            f"unexpected failure talking to S3 for {where} ({exc!r}); retry",
            lease=lease,
            store=self.url,
            ambiguous=write,
        )

    def _client_error(self, exc: ClientError, *, lease: str | None, write: bool) -> CloudLeaseError:
        code, status = error_code(exc), status_of(exc)
        message = shorten(str(exc.response.get("Error", {}).get("Message", "")))
        where = self.where
        if code == "NoSuchBucket" or (status == 404 and code in ("404", "NotFound")):
            return self.no_bucket(lease=lease, module="terraform/s3")
        if code in _CREDENTIAL_CODES:
            return StoreMisconfigured(
                f"AWS rejected the credentials for {where} ({code}: {message}); refresh or "
                "replace them (and check the machine's clock) and retry",
                lease=lease,
                store=self.url,
            )
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            return StoreMisconfigured(
                f"access denied on {where} ({code}: {message}); grant the caller "
                f"{', '.join(IAM_ACTIONS)} on arn:aws:s3:::{self.bucket}/{self.prefix}* (the "
                "policy of terraform/s3 does), and check the bucket policy and KMS key policy",
                lease=lease,
                store=self.url,
            )
        if code == "NotImplemented" or status == 501:
            return StoreMisconfigured(
                f"this endpoint does not support conditional writes (If-None-Match / If-Match) "
                f"on {where} ({code}: {message}); use Amazon S3 or an S3-compatible store that "
                "implements them",
                lease=lease,
                store=self.url,
            )
        if is_retryable(exc):
            return StoreUnavailable(
                f"S3 kept answering {code or status} on {where} past the retry budget; nothing "
                "was written, retry later (one lease object takes a few writes a second)",
                lease=lease,
                store=self.url,
            )
        if status >= 500:
            return StoreUnavailable(
                f"S3 failed on {where} ({code or status}: {message}); "
                + ("the write may have been applied" if write else "retry"),
                lease=lease,
                store=self.url,
                ambiguous=write,
            )
        return StoreMisconfigured(
            f"S3 refused the request on {where} ({code or status}: {message}); check the "
            "bucket's configuration (object lock, bucket policy) against terraform/s3",
            lease=lease,
            store=self.url,
        )
