"""Duplicates get the winner's result, on DynamoDB (moto)."""

from __future__ import annotations

from tests.dynamodb.conftest import StoreMaker
from tests.shared_result_case import duplicates_get_the_winners_result


def test_duplicates_get_the_winners_result(make_http_store: StoreMaker) -> None:
    duplicates_get_the_winners_result(make_http_store(), make_http_store())
