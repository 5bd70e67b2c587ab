"""AWS Lambda adapter: ``@aws_lambda.single_runner`` for ``handler(event, context)``.

- holder id: ``context.aws_request_id`` (in once-per-tick mode with a per-call suffix, so a
  retry of a tick that completed is refused by the done record instead of re-entering it);
- the lease, renewals included, never outlives the invocation: it is capped by
  ``context.get_remaining_time_in_millis()`` minus ``margin``, so a timed-out invocation
  blocks the next tick at most until its own deadline;
- once per tick (default): the tick is the EventBridge scheduled event's ``time``;
- ``CLOUDLEASE_DISABLED=1`` runs the handler unguarded, with a warning (local tests):
  ``current_lease()`` is then a local lease with fencing token 0 (see ``Tenure.unguarded``).

It wraps a plain ``(event, context)`` function and returns one, so it stacks with other
handler decorators (e.g. Powertools' ``@logger.inject_lambda_context``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError
from cloudlease.runner import (
    Call,
    GuardOptions,
    default_name,
    guard_function,
    make_guard,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger("cloudlease")
F = TypeVar("F", bound=Callable[..., Any])


def scheduled_time(event: Any) -> str | None:
    """The tick of an EventBridge scheduled event: its ``time`` (e.g. 2026-01-01T10:00:00Z)."""
    if isinstance(event, Mapping):
        value = event.get("time")
        return value if isinstance(value, str) and value else None
    return None


def single_runner(
    *,
    margin: Duration = 5.0,
    once_per_tick: bool = True,
    tick: Callable[[Any], str | None] = scheduled_time,
    **options: Unpack[GuardOptions],
) -> Callable[[F], F]:
    """Guard a Lambda handler so that one invocation runs per tick (or at a time).

    Takes ``single_runner``'s options (``store``, ``name``, ``ttl`` (here 900 s), ``wait``,
    ``skipped``, ``raise_on_skip``, ``remember``, ``metadata``). ``ttl`` is further capped by
    the invocation's remaining time minus ``margin``. ``once_per_tick=False`` guards every
    invocation with one lease, ticks ignored; ``tick(event)`` finds the tick (EventBridge
    ``time``).
    """
    options.setdefault("ttl", 900.0)
    guard = make_guard(**options)
    name = guard.name
    margin_s = to_seconds(margin, what="margin", lease=name, allow_zero=True)

    def decorate(handler: F) -> F:
        if inspect.iscoroutinefunction(handler):
            raise ConfigError(
                f"{handler.__qualname__} is async, but Lambda calls handlers synchronously; "
                "wrap it: def handler(event, context): return asyncio.run(main(event, context))",
                lease=name,
            )
        job = name or default_name(handler)

        def call_for(args: Any, kwargs: Any) -> Call:
            event, context = _event_and_context(args, kwargs, job)
            remaining = context.get_remaining_time_in_millis() / 1000
            budget = remaining - margin_s
            if budget <= 0:
                raise ConfigError(
                    f"the invocation has {remaining:.3f}s left, not more than the margin "
                    f"({margin_s:g}s): too late to start; raise the function timeout",
                    lease=job,
                )
            call = Call(
                job,
                holder=str(context.aws_request_id),
                max_duration=budget,
                metadata={"request_id": str(context.aws_request_id)},
            )
            if once_per_tick:
                value = tick(event)
                if not value:
                    raise ConfigError(
                        "once-per-tick needs the scheduled time, and this event has none "
                        "(expected an EventBridge scheduled event with 'time'); pass tick= "
                        "or once_per_tick=False",
                        lease=job,
                    )
                call.tick = value
            return call

        guarded = guard_function(guard, handler, call_for)

        def handler_wrapper(*args: Any, **kwargs: Any) -> Any:
            return guarded(*args, **kwargs)  # CLOUDLEASE_DISABLED=1 is handled there

        handler_wrapper.__wrapped__ = handler  # type: ignore[attr-defined]
        handler_wrapper.__name__ = handler.__name__
        handler_wrapper.__qualname__ = handler.__qualname__
        handler_wrapper.__doc__ = handler.__doc__
        return handler_wrapper  # type: ignore[return-value]

    return decorate


def _event_and_context(args: Any, kwargs: Any, job: str) -> tuple[Any, Any]:
    event = kwargs.get("event", args[0] if args else None)
    context = kwargs.get("context", args[1] if len(args) > 1 else None)
    if not (
        isinstance(getattr(context, "aws_request_id", None), str)
        and callable(getattr(context, "get_remaining_time_in_millis", None))
    ):
        raise ConfigError(
            f"expected a Lambda context as the handler's second argument, got {context!r}: "
            "call it as handler(event, context); for a local run pass an object with "
            "aws_request_id and get_remaining_time_in_millis(), or set CLOUDLEASE_DISABLED=1",
            lease=job,
        )
    return event, context
