"""Building the boto3 client, and describing where its credentials come from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError, ProfileNotFound

from cloudlease.errors import ConfigError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: botocore never retries on its own: the store decides (throttling is retried with backoff on
#: the store's clock; a lost response is resolved by reading the record back).
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
#: Lease operations are small; fail fast rather than wait botocore's default 60 s.
DEFAULT_CONFIG = Config(connect_timeout=2, read_timeout=5, tcp_keepalive=True)


def make_client(
    *,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    session: boto3.Session | None,
    config: Config | None,
    store: str,
) -> DynamoDBClient:
    """A DynamoDB client with the store's timeouts and without botocore's own retries."""
    merged = DEFAULT_CONFIG if config is None else DEFAULT_CONFIG.merge(config)
    merged = merged.merge(NO_RETRIES)
    try:
        if session is None:
            session = boto3.Session(profile_name=profile)
        return session.client(
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=merged
        )
    except ProfileNotFound as exc:
        raise ConfigError(
            f"AWS profile {profile!r} is not configured ({exc}); fix ?profile= or ~/.aws/config",
            store=store,
        ) from None
    except NoRegionError:
        raise ConfigError(
            "no AWS region: add ?region=REGION to the URL, or set AWS_REGION / AWS_DEFAULT_REGION",
            store=store,
        ) from None
    except ValueError as exc:  # e.g. a malformed endpoint_url
        raise ConfigError(f"cannot build the DynamoDB client: {exc}", store=store) from None


def credential_chain(session: Any) -> str:
    """The providers botocore tries, in order (what 'no credentials' means here)."""
    try:
        core = session._session if isinstance(session, boto3.Session) else session
        resolver = core.get_component("credential_provider")
        methods = [str(getattr(p, "METHOD", type(p).__name__)) for p in resolver.providers]
        return ", ".join(methods)
    except Exception:
        return (
            "the standard chain (environment, shared credentials and config files, SSO, "
            "container and instance metadata)"
        )


def credential_source(client: Any) -> str:
    """Where the client's credentials were found (botocore's ``Credentials.method``)."""
    signer = getattr(client, "_request_signer", None)
    method = getattr(getattr(signer, "_credentials", None), "method", None)
    return f"the {method!r} provider" if method else "an unknown source"
