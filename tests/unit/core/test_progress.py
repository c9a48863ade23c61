"""Step progress (:mod:`serendip.core.progress`): a counting view advances as it is read."""
from __future__ import annotations

from serendip.core.progress import CountingSequence, start_step


def test_counting_sequence_advances_as_it_is_read():
    got: list[int] = []
    view = CountingSequence(list(range(2500)), got.append, every=1000)
    assert len(view) == 2500 and view[7] == 7 and got == []
    assert list(view) == list(range(2500))
    assert got == [1000, 1000, 500]


def test_start_step_without_a_listener_is_a_no_op():
    start_step(None, "BM25", 10)(5)
    opened: list[tuple[str, int | None]] = []
    done: list[int] = []

    def steps(name, total):
        opened.append((name, total))
        return done.append

    start_step(steps, "BM25", 10)(10)
    assert opened == [("BM25", 10)] and done == [10]
