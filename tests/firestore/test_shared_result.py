"""Duplicates get the winner's result, on the Firestore emulator."""

from __future__ import annotations

from typing import Any

from tests.shared_result_case import duplicates_get_the_winners_result


def test_duplicates_get_the_winners_result(make_store: Any) -> None:
    duplicates_get_the_winners_result(make_store(), make_store())
