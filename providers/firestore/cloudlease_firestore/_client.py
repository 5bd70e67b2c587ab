"""Building the ``firestore.Client`` and checking project, database and collection names."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from google.auth import exceptions as auth_exceptions
from google.cloud.firestore_v1.base_client import BaseClient

from cloudlease.errors import ConfigError, StoreMisconfigured
from cloudlease_firestore._errors import Where

C = TypeVar("C", bound=BaseClient)

EMULATOR_ENV = "FIRESTORE_EMULATOR_HOST"
# Lenient on purpose: the emulator and domain-scoped projects ("example.com:app") differ
# from the usual 6-30 lowercase characters; the server has the last word.
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,99}")
_DATABASE = re.compile(r"\(default\)|[a-z][a-z0-9-]{0,62}")
_COLLECTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_RESERVED = re.compile(r"__.*__")


def check_names(project: str, collection: str, database: str, *, url: str) -> None:
    """Refuse names Firestore would reject, before any request."""
    if project and not _PROJECT.fullmatch(project):
        raise ConfigError(f"invalid Google Cloud project id {project!r}", store=url)
    if not isinstance(database, str) or not _DATABASE.fullmatch(database):
        raise ConfigError(
            f"invalid Firestore database id {database!r}: '(default)' or lowercase letters, "
            "digits and '-' (starting with a letter)",
            store=url,
        )
    if (
        not isinstance(collection, str)
        or not _COLLECTION.fullmatch(collection)
        or _RESERVED.fullmatch(collection)
        or collection in {".", ".."}
    ):
        raise ConfigError(
            f"invalid collection id {collection!r}: letters, digits, '_', '-' and '.', up to "
            "100 characters, not __x__",
            store=url,
        )


def build_client(
    kind: type[C], project: str | None, database: str, credentials: Any, where: Where
) -> C:
    """A ``kind`` (``firestore.Client`` or ``firestore.AsyncClient``) for ``project``/
    ``database``; honours FIRESTORE_EMULATOR_HOST as the SDK does.

    Credentials come from ``credentials`` or Application Default Credentials
    (GOOGLE_APPLICATION_CREDENTIALS, ``gcloud auth application-default login``, the metadata
    server on Google Cloud). The project comes from the URL, else from the environment
    (GOOGLE_CLOUD_PROJECT, the credentials).
    """
    try:
        client = kind(project=project, database=database, credentials=credentials)
    except auth_exceptions.DefaultCredentialsError as exc:
        raise StoreMisconfigured(
            f"no Google credentials for {where.described}: looked at GOOGLE_APPLICATION_"
            "CREDENTIALS, the gcloud application-default file and the metadata server "
            f"({exc}); run 'gcloud auth application-default login', set "
            f"GOOGLE_APPLICATION_CREDENTIALS to a key file, or set {EMULATOR_ENV}=HOST:PORT "
            "for the emulator",
            store=where.url,
        ) from None
    except OSError as exc:  # the SDK's "Project was not passed and could not be determined"
        raise StoreMisconfigured(
            f"no Google Cloud project for {where.described} ({exc}): put it in the URL "
            "(firestore://PROJECT/COLLECTION) or set GOOGLE_CLOUD_PROJECT",
            store=where.url,
        ) from None
    if not client.project:
        raise StoreMisconfigured(
            f"no Google Cloud project for {where.described}: put it in the URL "
            "(firestore://PROJECT/COLLECTION) or set GOOGLE_CLOUD_PROJECT",
            store=where.url,
        )
    return client
