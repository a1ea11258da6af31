"""Where the relay's database work runs: in a worker thread, inside an application context of its own, so that
the event loop keeps serving the other connections while one message commits."""

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ..runtime import Runtime


@dataclass(frozen=True)
class Backend:
    """The Runtime the services take, and how to enter an application context (the app's app_context)."""

    runtime: Runtime
    context: Callable[[], AbstractContextManager]

    async def run(self, function: Callable, *args):
        """function(*args) in a worker thread and an application context; its result, or what it raised."""
        return await asyncio.to_thread(self.call, function, *args)

    def call(self, function: Callable, *args):
        """function(*args) in an application context of this thread's own."""
        with self.context():
            return function(*args)
