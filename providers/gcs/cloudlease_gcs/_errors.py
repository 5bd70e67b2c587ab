"""Cloud Storage failures -> cloudlease errors that name the bucket, the prefix and the fix."""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions

from cloudlease.errors import CloudLeaseError, StoreMisconfigured, StoreUnavailable
from cloudlease.stores.objects import Place, shorten

#: The IAM role that lets a caller hold leases under a prefix (objects get, create, delete
#: (replacing an object needs it), list); grant it on the bucket with an IAM condition on the
#: prefix for least privilege, as terraform/gcs does.
IAM_ROLE = "roles/storage.objectUser"
#: Cloud Storage allows about one write per second per object and answers 429 beyond it:
#: nothing was applied; retried with backoff.
THROTTLED = (gexc.TooManyRequests,)
#: Server errors after which a write may have been applied: resolved by reading back.
AMBIGUOUS = (
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
)


def is_not_sent(exc: BaseException) -> bool:
    """A transport failure before the request left: surely not applied."""
    import requests  # here, not at import: only a failure needs it

    return isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(exc, requests.exceptions.ConnectionError) and "refused" in str(exc).lower()
    )


class Translator(Place):
    """Knows where the store points (``Place``), to say so in every error."""

    def __call__(self, exc: BaseException, *, lease: str | None, write: bool) -> CloudLeaseError:
        """The cloudlease error for ``exc``; ``write`` says whether a write may have applied."""
        where = self.where
        if isinstance(exc, CloudLeaseError):
            return exc
        if isinstance(exc, auth_exceptions.DefaultCredentialsError):
            return StoreMisconfigured(
                f"no Google credentials for {where} ({exc}); run 'gcloud auth "
                "application-default login', set GOOGLE_APPLICATION_CREDENTIALS, or set "
                "STORAGE_EMULATOR_HOST for an emulator",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, auth_exceptions.RefreshError | gexc.Unauthorized):
            return StoreMisconfigured(
                f"the Google credentials were rejected for {where} ({shorten(str(exc))}); "
                "refresh them (gcloud auth application-default login) and retry",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, gexc.NotFound):
            return self.no_bucket(lease=lease, module="terraform/gcs")
        if isinstance(exc, gexc.Forbidden):
            return StoreMisconfigured(
                f"permission denied on {where} ({shorten(exc.message)}); grant the caller "
                f"{IAM_ROLE} on the bucket (terraform/gcs limits it to the prefix with an IAM "
                f"condition): gcloud storage buckets add-iam-policy-binding gs://{self.bucket} "
                f"--member=serviceAccount:SA_EMAIL --role={IAM_ROLE}",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, THROTTLED):
            return StoreUnavailable(
                f"Cloud Storage kept answering 429 on {where} past the retry budget; nothing "
                "was written. One object takes about one write per second: renew less often "
                "(a longer ttl) or retry later",
                lease=lease,
                store=self.url,
            )
        if isinstance(exc, AMBIGUOUS):
            return StoreUnavailable(
                f"Cloud Storage failed on {where} ({type(exc).__name__}: "
                f"{shorten(exc.message)}); "
                + ("the write may have been applied" if write else "retry"),
                lease=lease,
                store=self.url,
                ambiguous=write,
            )
        if isinstance(exc, gexc.GoogleAPICallError):
            return StoreMisconfigured(
                f"Cloud Storage refused the request on {where} ({type(exc).__name__}: "
                f"{shorten(exc.message)}); check the bucket's configuration (retention policy, "
                "object holds) against terraform/gcs",
                lease=lease,
                store=self.url,
            )
        if is_not_sent(exc):
            return StoreUnavailable(
                f"cannot connect to Cloud Storage for {where} ({shorten(str(exc))}); nothing "
                "was written. Check the network and retry",
                lease=lease,
                store=self.url,
            )
        return StoreUnavailable(
            f"no response from Cloud Storage for {where} ({type(exc).__name__}: "
            f"{shorten(str(exc))}); " + ("the write may have been applied" if write else "retry"),
            lease=lease,
            store=self.url,
            ambiguous=write,
        )
