"""Value and Frozen: the bases of the core's small immutable value classes.

What ``@dataclass(frozen=True)`` gave them, without importing ``dataclasses`` (and with it
``inspect``, ~10 ms of a cold start): slots, equality and a repr over ``_fields``,
``replace(**changes)``, pickling by field values. A subclass declares ``__slots__`` and
``_fields`` (its ``__init__`` parameters, in order).

- ``Frozen`` refuses assignment after ``__init__`` at runtime; its ``__init__`` sets the fields
  with ``_set_fields`` (Capabilities, TimingPolicy: made once) or through ``setters(cls)``.
- ``Value`` is immutable by contract: its fields are ``Final`` to type checkers and its
  ``__init__`` assigns them plainly. LeaseRecord and Lease are made on every lease operation,
  and a runtime refusal would cost each of them more than the operation itself on the memory
  store (docs/performance.md, section 2).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar

    _F = TypeVar("_F", bound="Value")

#: Sets a field of a Frozen instance (only its ``__init__`` may).
_set = object.__setattr__


def setters(cls: type[Value]) -> tuple[Callable[[object, Any], None], ...]:
    """The setters of ``cls``'s slots in ``_fields`` order, for its ``__init__``."""
    return tuple(getattr(cls, field).__set__ for field in cls._fields)


class FrozenInstanceError(AttributeError):
    """Raised on an attempt to assign to (or delete) a field of a frozen value."""


class Value:
    __slots__ = ()
    #: The fields, in ``__init__`` order: compared, shown and copied by ``replace``.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields left out of equality and repr (a clock, store-private state).
    _hidden: ClassVar[frozenset[str]] = frozenset()

    def _shown(self) -> list[tuple[str, Any]]:
        return [(f, getattr(self, f)) for f in self._fields if f not in self._hidden]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._shown() == other._shown()

    __hash__ = None  # type: ignore[assignment]  # fields include dicts: not hashable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._shown())
        return f"{type(self).__name__}({shown})"

    def replace(self: _F, **changes: Any) -> _F:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        values = {f: changes.pop(f, getattr(self, f)) for f in self._fields}
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(changes)}")
        return self.__class__(**values)

    def __reduce__(self: _F) -> tuple[type[_F], tuple[Any, ...]]:
        return self.__class__, tuple(getattr(self, f) for f in self._fields)


class Frozen(Value):
    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # TypeError if a field is unhashable
        return hash(tuple(value for _, value in self._shown()))

    if not TYPE_CHECKING:  # mypy: fields stay assignable in __init__ through setters only

        def __setattr__(self, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen value")

        def __delattr__(self, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r} of a frozen value")

    def _set_fields(self, *values: Any) -> None:
        """Set every field, in ``_fields`` order (for ``__init__`` only)."""
        for field, value in zip(self._fields, values, strict=True):
            _set(self, field, value)
