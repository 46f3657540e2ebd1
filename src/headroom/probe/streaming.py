"""Chunk counting for streaming responses.

A ``StreamingHttpResponse`` given a ``str`` iterates it one character at a time, one write
per character: the counters make that visible (``chunks`` vs ``bytes``). The request's record
is finished when the stream ends, fails, or the response is closed, whichever comes first.
While the body is produced the request's state is current again, so queries a generator runs
are recorded too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from headroom.probe.state import RequestState, current, probe_error

Finish = Callable[["StreamCounter"], None]


class StreamCounter:
    """Shared by the sync and async wrappers: counts, and finishes once."""

    __slots__ = ("bytes", "chunks", "done", "on_finish", "state")

    def __init__(self, state: RequestState, on_finish: Finish) -> None:
        self.state = state
        self.on_finish = on_finish
        self.chunks = 0
        self.bytes = 0
        self.done = False

    def count(self, chunk: Any) -> None:
        self.chunks += 1
        self.bytes += len(chunk)

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.on_finish(self)
        except Exception:
            probe_error("finishing a streamed response", self.state)

    def close(self) -> None:
        """Called by Django when the response is closed (client gone, or body sent)."""
        self.finish()


class CountingIterator(StreamCounter):
    """Wraps a sync ``streaming_content`` iterator (already bytes)."""

    __slots__ = ("iterator",)

    def __init__(self, iterator: Iterator[bytes], state: RequestState, on_finish: Finish):
        super().__init__(state, on_finish)
        self.iterator = iterator

    def __iter__(self) -> CountingIterator:
        return self

    def __next__(self) -> bytes:
        token = current.set(self.state)
        try:
            chunk = next(self.iterator)
        except BaseException:
            self.finish()
            raise
        finally:
            current.reset(token)
        self.count(chunk)
        return chunk


class AsyncCountingIterator(StreamCounter):
    """Wraps an async ``streaming_content`` iterator (already bytes)."""

    __slots__ = ("iterator",)

    def __init__(self, iterator: AsyncIterator[bytes], state: RequestState, on_finish: Finish):
        super().__init__(state, on_finish)
        self.iterator = iterator

    def __aiter__(self) -> AsyncCountingIterator:
        return self

    async def __anext__(self) -> bytes:
        token = current.set(self.state)
        try:
            chunk = await self.iterator.__anext__()
        except BaseException:
            self.finish()
            raise
        finally:
            current.reset(token)
        self.count(chunk)
        return chunk


def wrap_streaming(response: Any, state: RequestState, on_finish: Finish) -> StreamCounter:
    """Replace ``response.streaming_content`` with a counting wrapper and return it."""
    counter: StreamCounter
    if response.is_async:
        counter = AsyncCountingIterator(response.streaming_content, state, on_finish)
    else:
        counter = CountingIterator(response.streaming_content, state, on_finish)
    response.streaming_content = counter
    return counter
