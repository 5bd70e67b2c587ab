"""``dynamodb://TABLE?region=R&endpoint_url=URL&profile=P`` -> DynamoDBStore."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from cloudlease.errors import ConfigError
from cloudlease_dynamodb.schema import AttributeNames
from cloudlease_dynamodb.store import DynamoDBStore

#: Query parameters the URL accepts (all optional; credentials come from the boto3 chain).
URL_OPTIONS = ("region", "endpoint_url", "profile", "partition_key", "ttl_attribute")


def from_url(url: str, **options: Any) -> DynamoDBStore:
    """Open ``dynamodb://TABLE?region=&endpoint_url=&profile=&partition_key=&ttl_attribute=``.

    ``options`` go to DynamoDBStore (client, session, config, clock, takeover_allowance,
    clock_skew_bound...).
    """
    table, options = parse_url(url, options)
    return DynamoDBStore(table, **options)


def parse_url(url: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The table a DynamoDB store URL names, and ``options`` with the URL's added."""
    parts = urlsplit(url)
    table = parts.netloc
    if parts.scheme.lower() != "dynamodb" or not table or parts.path not in ("", "/"):
        raise ConfigError(
            f"cannot parse DynamoDB store URL {url!r}: use "
            "'dynamodb://TABLE?region=REGION' (optional: endpoint_url, profile)",
            store=url,
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(URL_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} in DynamoDB store URL {url!r}; known: "
            f"{', '.join(URL_OPTIONS)}",
            store=url,
        )
    given = {key: values[-1] for key, values in query.items()}
    empty = sorted(key for key, value in given.items() if not value)
    if empty:
        raise ConfigError(
            f"empty value for {', '.join(empty)} in {url!r}; give a value (e.g. "
            "?region=eu-west-1) or leave the option out",
            store=url,
        )
    endpoint = given.get("endpoint_url")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(
            f"endpoint_url={endpoint!r} in {url!r} must start with http:// or https://",
            store=url,
        )
    if "partition_key" in given or "ttl_attribute" in given:
        if "attributes" in options:
            raise ConfigError(
                "pass attribute names either in the URL or as attributes=, not both", store=url
            )
        defaults = AttributeNames()
        options["attributes"] = AttributeNames(
            key=given.get("partition_key", defaults.key),
            ttl=given.get("ttl_attribute", defaults.ttl),
        )
    for key in ("region", "endpoint_url", "profile"):
        if key in given:
            options.setdefault(key, given[key])
    return table, options
