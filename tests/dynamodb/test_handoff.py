"""A lease handed across invocations, on DynamoDB (moto)."""

from __future__ import annotations

from tests.dynamodb.conftest import StoreMaker
from tests.handoff_case import handed_over_renewed_released_then_stale


def test_a_handle_is_renewed_and_released_by_another_invocation(
    make_http_store: StoreMaker,
) -> None:
    handed_over_renewed_released_then_stale(make_http_store(), make_http_store())
