"""A lease handed across invocations, on Azurite."""

from __future__ import annotations

from tests.azure_blob.azurite import Azurite
from tests.handoff_case import handed_over_renewed_released_then_stale


def test_a_handle_is_renewed_and_released_by_another_invocation(
    azurite: Azurite, container: str
) -> None:
    (first, _), (second, _) = azurite.store(container), azurite.store(container)
    handed_over_renewed_released_then_stale(first, second)
