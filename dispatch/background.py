"""Ending a background task for certain: cancelled, and cancelled again until it has ended.

One cancel is not enough on Python 3.11: redis-py, `asyncio.wait_for` and `asyncio.timeout` can
each turn a cancellation that lands as their own timeout fires into an ordinary exception (or
`uncancel` it), and a loop that survives ordinary exceptions then runs on, so the server's
shutdown waits for it for ever. Every stop in the project goes through `end`: it cancels again
every `nudge_s`, and after `patience_s` it gives up on the task, logs where it is stuck and
returns, so a stop always finishes and says what would not."""

import asyncio
import contextlib
import io
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


async def end(task: "asyncio.Future[object] | asyncio.Task[object]", *, name: str | None = None,
              patience_s: float = 10.0, nudge_s: float = 0.25) -> bool:
    """Cancel `task` until it is done; True if it ended within `patience_s`.

    A caller that is itself cancelled meanwhile (a loop ending its child in a `finally` while
    its own stopper nudges it) still sees the child ended before the cancel goes on up."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + patience_s
    cancelled_meanwhile: asyncio.CancelledError | None = None
    ended = True
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=nudge_s)
        except asyncio.CancelledError as e:
            cancelled_meanwhile = e
        if not task.done() and loop.time() >= give_up_at:
            log.error("%s did not end within %g s of being cancelled; left running:\n%s",
                      name or _name(task), patience_s, _stack(task))
            ended = False
            break
    if task.done() and not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()  # retrieved: an ending task's error is not news at shutdown
    if cancelled_meanwhile is not None:
        # the caller's own cancellation, as it came: anyio (Starlette's test client, a task
        # group) knows its cancel scope's by the message, and a fresh one would escape the scope
        raise cancelled_meanwhile
    return ended


async def end_in_handler(task: "asyncio.Task[None]", name: str) -> None:
    """End a websocket handler's helper task (its sender, its key watch) as the handler returns,
    whatever ended the handler: the handler's own cancel is not passed on, since the ASGI server
    and anyio's scopes expect a handler to return."""
    with contextlib.suppress(asyncio.CancelledError):
        await end(task, name=name)


async def end_all(tasks: "list[asyncio.Task[None]]", patience_s: float = 10.0) -> None:
    """End several at once: a stop costs the slowest one's time, not the sum."""
    await asyncio.gather(*(end(t, patience_s=patience_s) for t in tasks))


async def within(step: Awaitable[None], what: str, patience_s: float = 10.0) -> None:
    """Run one step of a stop (closing a client, a store) and move on if it hangs."""
    task = asyncio.ensure_future(step)
    await asyncio.wait({task}, timeout=patience_s)
    if not task.done():
        await end(task, name=what, patience_s=1.0)
        log.error("%s did not finish within %g s; the stop goes on without it", what, patience_s)
        return
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s failed while stopping: %r", what, task.exception())


def _name(task: "asyncio.Future[object]") -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)


def _stack(task: "asyncio.Future[object]") -> str:
    if not isinstance(task, asyncio.Task):
        return repr(task)
    out = io.StringIO()
    task.print_stack(file=out)
    return out.getvalue()
