"""Progress reporting for long steps that take a sequence: count the items a consumer reads.

A step is told to its caller through a *steps* callback, ``steps(name, total) -> advance``: the caller
(the CLI) opens a bar named ``name`` for ``total`` items (None: unknown) and returns ``advance(n)``.
:class:`CountingSequence` wraps the input of a step whose code has no progress hook of its own (a BM25
build iterating its texts) so that reading it advances the bar.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

__all__ = ["Steps", "CountingSequence", "start_step"]

T = TypeVar("T")

#: ``steps(name, total) -> advance(n)``
Steps = Callable[[str, int | None], Callable[[int], None]]


def start_step(steps: Steps | None, name: str, total: int | None) -> Callable[[int], None]:
    """``advance(n)`` of a new step named ``name`` (a no-op when ``steps`` is None)."""
    if steps is None:
        return lambda _n: None
    return steps(name, total)


class CountingSequence(Sequence[T]):
    """A read-only view of ``items`` whose iteration calls ``advance(every)`` each ``every`` items (and
    the rest at the end); indexing and ``len`` pass through uncounted.

    Parameters
    ----------
    items : sequence
    advance : callable
        ``advance(n)``: n more items read.
    every : int
        Items between two calls (the bar's refresh granularity).
    """

    def __init__(self, items: Sequence[T], advance: Callable[[int], None], every: int = 1000):
        self._items = items
        self._advance = advance
        self._every = max(1, int(every))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        return self._items[index]

    def __iter__(self) -> Iterator[T]:
        pending = 0
        for item in self._items:
            yield item
            pending += 1
            if pending == self._every:
                self._advance(pending)
                pending = 0
        if pending:
            self._advance(pending)
