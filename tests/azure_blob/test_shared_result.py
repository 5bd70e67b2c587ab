"""Duplicates get the winner's result, on Azurite."""

from __future__ import annotations

from tests.azure_blob.azurite import Azurite
from tests.shared_result_case import duplicates_get_the_winners_result


def test_duplicates_get_the_winners_result(azurite: Azurite, container: str) -> None:
    (first, _), (second, _) = azurite.store(container), azurite.store(container)
    duplicates_get_the_winners_result(first, second)
