"""Google API errors as cloudlease errors that name project, database, collection and the fix."""

from __future__ import annotations

from google.api_core import exceptions as gexc

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import CloudLeaseError, StoreMisconfigured, StoreUnavailable

#: The IAM role that lets a caller use cloudlease on Firestore.
IAM_ROLE = "roles/datastore.user"

#: Errors after which a commit may have been applied (the response was lost, or the server
#: failed after accepting it): resolved by reading the record back.
AMBIGUOUS = (
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.Unknown,
    gexc.Cancelled,
)


class Where(Frozen):
    """What an error message names: the store URL and its parts."""

    __slots__ = ("collection", "database", "project", "url")
    _fields = ("url", "project", "database", "collection")

    url: str
    project: str
    database: str
    collection: str

    def __init__(self, url: str, project: str, database: str, collection: str) -> None:
        put = _PUT_WHERE
        put[0](self, url)
        put[1](self, project)
        put[2](self, database)
        put[3](self, collection)

    @property
    def described(self) -> str:
        return (
            f"project {self.project!r}, database {self.database!r}, collection {self.collection!r}"
        )


_PUT_WHERE = setters(Where)


def is_datastore_mode(exc: gexc.GoogleAPICallError) -> bool:
    """True for the errors Firestore returns on a database in Datastore mode."""
    text = str(exc.message).lower()
    return "datastore mode" in text or "not set to firestore mode" in text


def misconfigured(exc: gexc.GoogleAPICallError, where: Where, lease: str | None) -> str | None:
    """The message for an error that retrying cannot fix, or None if it is not one."""
    text = str(exc.message)
    lower = text.lower()
    if isinstance(exc, gexc.PermissionDenied) and (
        "has not been used" in lower or ("disabled" in lower and "api" in lower)
    ):
        return (
            f"the Firestore API is disabled for {where.described} ({text}); enable it: "
            f"gcloud services enable firestore.googleapis.com --project {where.project}"
        )
    if isinstance(exc, gexc.PermissionDenied):
        return (
            f"permission denied on {where.described} ({text}); grant the caller {IAM_ROLE}: "
            f"gcloud projects add-iam-policy-binding {where.project} "
            f"--member=serviceAccount:SA_EMAIL --role={IAM_ROLE}"
        )
    if isinstance(exc, gexc.Unauthenticated):
        return (
            f"the credentials were rejected for {where.described} ({text}); refresh them "
            "(gcloud auth application-default login) or fix GOOGLE_APPLICATION_CREDENTIALS"
        )
    if isinstance(exc, (gexc.FailedPrecondition, gexc.InvalidArgument)) and is_datastore_mode(exc):
        return (
            f"database {where.database!r} of project {where.project!r} is in Datastore mode "
            f"({text}); cloudlease needs a Firestore Native database: create one "
            f"(gcloud firestore databases create --database=NAME --location=LOCATION "
            f"--type=firestore-native) and pass ?database=NAME in {where.url}"
        )
    if isinstance(exc, gexc.NotFound) and "database" in lower:
        return (
            f"database {where.database!r} does not exist in project {where.project!r} "
            f"({text}); create it (gcloud firestore databases create --database="
            f"{where.database} --location=LOCATION --type=firestore-native, or the cloudlease "
            "Terraform module), or fix ?database= in the store URL"
        )
    return None


def translate(
    exc: Exception, where: Where, lease: str | None, *, ambiguous: bool = False
) -> CloudLeaseError:
    """The cloudlease error for a failed request (``ambiguous``: it may have been applied)."""
    if isinstance(exc, CloudLeaseError):
        return exc
    if isinstance(exc, gexc.GoogleAPICallError):
        message = misconfigured(exc, where, lease)
        if message is not None:
            return StoreMisconfigured(message, lease=lease, store=where.url)
        kind = f"{type(exc).__name__}: {exc.message}"
    else:
        kind = f"{type(exc).__name__}: {exc}"
    if ambiguous:
        return StoreUnavailable(
            f"Firestore did not answer the commit on {where.described} ({kind}); it may have "
            "been applied",
            lease=lease,
            store=where.url,
            ambiguous=True,
        )
    return StoreUnavailable(
        f"Firestore request failed on {where.described} ({kind}); nothing was written, retry",
        lease=lease,
        store=where.url,
    )
