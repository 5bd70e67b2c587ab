"""Decisions written once, driven by a thread or by an event loop (sans-IO).

A flow is a generator that decides and yields what it needs done: a ``Call`` (a request, by
method name, to whatever the driver serves: a store's primitives, or a store) or a ``Pause``
(a wait); the driver performs it and sends back the result, or throws the error in. ``run``
drives a flow from sync code, ``run_async`` from a coroutine; the flow is the same, so the sync
and async sides of a store or a Tenure cannot drift apart. Nothing here imports asyncio.
"""

from __future__ import annotations

from cloudlease._frozen import Frozen, setters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator
    from typing import Any, TypeAlias, TypeVar

    T = TypeVar("T")


class Call(Frozen):
    """Call ``method(*args)`` on the driver's target; the flow receives what it returns."""

    __slots__ = ("args", "method")
    _fields = ("method", "args")

    method: str
    args: tuple[Any, ...]

    def __init__(self, method: str, args: tuple[Any, ...] = ()) -> None:
        put = _PUT_CALL
        put[0](self, method)
        put[1](self, args)


_PUT_CALL = setters(Call)


class Pause(Frozen):
    """Wait ``seconds`` (on the Clock, or the event loop) before going on."""

    __slots__ = ("seconds",)
    _fields = ("seconds",)

    seconds: float

    def __init__(self, seconds: float) -> None:
        _PUT_PAUSE[0](self, seconds)


_PUT_PAUSE = setters(Pause)

Step: TypeAlias = "Call | Pause"
Flow: TypeAlias = "Generator[Step, Any, T]"


class Stepper:
    """Walks a flow: ``step`` is what it waits for (None once done, with ``result`` set)."""

    def __init__(self, flow: Flow[Any]) -> None:
        self._flow = flow
        self.step: Step | None = None
        self.result: Any = None
        self._advance(flow.send, None)

    def send(self, value: Any) -> None:
        self._advance(self._flow.send, value)

    def fail(self, error: BaseException) -> None:
        self._advance(self._flow.throw, error)

    def _advance(self, resume: Callable[[Any], Step], argument: Any) -> None:
        try:
            self.step = resume(argument)
        except StopIteration as done:
            self.step, self.result = None, done.value


def run(flow: Flow[T], perform: Callable[[Step], Any]) -> T:
    """Drive ``flow`` to its end from sync code; ``perform`` does each step.

    (``Stepper``'s walk written inline: this runs on every sync store operation.)"""
    try:
        step = flow.send(None)
        while True:
            try:
                value = perform(step)
            except BaseException as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(value)
    except StopIteration as done:
        result: T = done.value
        return result


async def run_async(flow: Flow[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
    """Drive ``flow`` to its end from a coroutine; ``perform`` does each step."""
    stepper = Stepper(flow)
    step = stepper.step
    while step is not None:
        outcome: tuple[bool, Any]
        try:
            outcome = (True, await perform(step))
        except BaseException as exc:  # CancelledError included: the flow sees it
            outcome = (False, exc)
        if outcome[0]:
            stepper.send(outcome[1])
        else:
            stepper.fail(outcome[1])
        step = stepper.step
    result: T = stepper.result
    return result
