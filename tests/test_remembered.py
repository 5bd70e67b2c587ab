"""``Remembered``: the stores' hints of what they last saw, bounded."""

from __future__ import annotations

from cloudlease._remembered import Remembered


def test_past_its_limit_a_new_name_forgets_everything_and_a_known_name_forgets_nothing() -> None:
    seen: Remembered[int] = Remembered(limit=2)
    seen.put("a", 1)
    seen.put("b", 2)
    seen.put("b", 3)  # a name already there: replaced, nothing forgotten
    assert (seen.get("a"), seen.get("b"), len(seen)) == (1, 3, 2)
    seen.put("c", 4)  # a third name: the rest goes
    assert (seen.get("a"), seen.get("b"), seen.get("c"), len(seen)) == (None, None, 4, 1)


def test_pop_returns_what_was_remembered_once() -> None:
    seen: Remembered[str] = Remembered()
    seen.put("job", "v1")
    assert seen.pop("job") == "v1"
    assert seen.pop("job") is None and seen.get("job") is None
