"""PostgreSQL: database work in the event loop's own thread, as a greenlet that waits on the loop.

A work (``store.writer``) is plain blocking code: it sends a statement and reads the answer before it
goes on. It used to run in a worker thread, handed over and back for every request (about ten context
switches per one-meeting reassignment, counting the waits for Python's lock). Here it runs in a greenlet
in the loop's thread instead. Where it would wait for the socket (``wait_socket``: the store's own round
trips in ``store/pg_wire.py``, and psycopg's through ``LoopConnection.wait``) it switches back to the
loop, which serves other requests and other works and switches back into it once the socket is ready.
Nothing else changes: the same code, the same transactions, the same connections from the same pool.
Measured on its own this cost the same CPU per request as a thread per work; what it makes possible is
group commit (``store/pg_group_commit.py``), whose groups are tasks of the loop with no thread between
a request and its group.

Outside a greenlet of ``run_in_loop`` (the CLI, tests, threads) the same calls wait as before: blocking.
A work is never interrupted once started: when the request awaiting it is cancelled, the work runs to
its end (as a worker thread would) and the cancellation is raised after.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from greenlet import getcurrent, greenlet
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_W

T = TypeVar("T")

_POLL_EVENTS = {
    WAIT_R: select.POLLIN,
    WAIT_W: select.POLLOUT,
    WAIT_R | WAIT_W: select.POLLIN | select.POLLOUT,
}


class _Work(greenlet):  # type: ignore[misc]
    """A work running in the event loop's thread: it hands the loop the socket it waits for."""


async def run_in_loop(call: Callable[[], T]) -> T:
    """Run ``call`` in a greenlet of this thread, serving its waits on the running loop; its result."""
    loop = asyncio.get_running_loop()
    work = _Work(call, parent=getcurrent())
    work.gr_context = contextvars.copy_context()
    request = work.switch()
    cancelled: asyncio.CancelledError | None = None
    while not work.dead:
        fd, wanted = request
        ready = loop.create_future()
        if wanted & WAIT_R:
            loop.add_reader(fd, _settle, ready, READY_R)
        if wanted & WAIT_W:
            loop.add_writer(fd, _settle, ready, READY_W)
        try:
            state = await ready
        except asyncio.CancelledError as error:  # the work goes on to its end (see above)
            cancelled, state = error, 0
        finally:
            if wanted & WAIT_R:
                loop.remove_reader(fd)
            if wanted & WAIT_W:
                loop.remove_writer(fd)
        request = work.switch(state)
    if cancelled is not None:
        raise cancelled
    return request  # type: ignore[no-any-return]


def _settle(future: asyncio.Future[int], state: int) -> None:
    if not future.done():
        future.set_result(state)


def in_loop_work() -> bool:
    return isinstance(getcurrent(), _Work)


def wait_socket(fd: int, wanted: int) -> int:
    """Wait until ``fd`` is ready for ``wanted`` (psycopg's ``WAIT_R``, ``WAIT_W`` or both); what it is
    ready for (``READY_R``, ``READY_W``). In a work of ``run_in_loop`` the loop runs meanwhile."""
    current = getcurrent()
    if isinstance(current, _Work):
        while True:
            state: int = current.parent.switch((fd, wanted))
            if state:
                return state
    waiting = select.poll()
    waiting.register(fd, _POLL_EVENTS[wanted])
    state = 0
    for _fd, events in waiting.poll():
        if events & ~select.POLLOUT:  # readable, or an error or hang-up the next read reports
            state |= READY_R
        if events & select.POLLOUT:
            state |= READY_W
    return state


class LoopConnection(psycopg.Connection[Any]):
    """psycopg's connection whose waits, in a work of ``run_in_loop``, let the event loop run (Core and
    ORM statements, commit and rollback); elsewhere it waits as psycopg's does.

    Not before the pool has handed it out once (``checked_out``): SQLAlchemy sets up a new connection
    holding a lock of its own (the engine's first connection runs the dialect's queries under it), and a
    work that let the loop run there could leave another work of the same thread blocked on that lock
    for good. Setting up a connection blocks the loop for its few round trips, once."""

    checked_out = False

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or not self.checked_out or not in_loop_work():
            return super().wait(gen, interval=interval, timeout=timeout)
        fd = self.pgconn.socket
        try:
            wanted = next(gen)
            while True:
                wanted = gen.send(wait_socket(fd, wanted))
        except StopIteration as done:
            return done.value
