"""A lease handed across invocations, on the Firestore emulator."""

from __future__ import annotations

from typing import Any

from tests.handoff_case import handed_over_renewed_released_then_stale


def test_a_handle_is_renewed_and_released_by_another_invocation(make_store: Any) -> None:
    handed_over_renewed_released_then_stale(make_store(), make_store())
