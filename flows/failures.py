"""How our flows end Failed: with the reason as the state's message, and nothing pickled.

When a flow function raises, Prefect 3.8 writes the exception with cloudpickle to the result
storage and records it as an artifact without a key (even with `persist_result=False`). Those
keyless records make `prefect artifact ls --all` crash (it sorts artifacts by key, and None does
not compare with str), and a pickle is what this project never writes. A flow decorated with
`@fails_with_reason` returns `Failed(message=...)` instead: the state carries the reason, the
one line `hierskp` itself prints (`hierskp.failures.one_line`; `prefect flow-run inspect ID` and the
UI show it), the run's log gets that line (the traceback too only with HIERSKP_DEBUG=1), nothing
is persisted. Calling such a flow directly still raises (`prefect.exceptions.FailedRun`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.exceptions import FailedRun
from prefect.states import Failed

F = TypeVar("F", bound=Callable[..., Any])


def reason(exc: BaseException) -> str:
    """The message a person reads: the child run's own reason for a failed subflow, else the one line
    the command line prints for the same failure."""
    from hierskp.failures import one_line

    return str(exc) if isinstance(exc, FailedRun) else one_line(exc)


def fails_with_reason(fn: F) -> F:
    """Put under `@flow(...)`: an exception becomes a returned Failed state with its reason."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure ends the run the same way
            from hierskp.failures import debug_enabled

            trace = debug_enabled() and not isinstance(exc, FailedRun)
            get_run_logger().error("%s failed: %s", fn.__name__, reason(exc), exc_info=trace)
            return Failed(message=reason(exc))

    # annotations resolved here: Prefect would evaluate fn's string annotations in this module
    wrapper.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
