"""Reading ahead: batches come in order, at most a bounded number ahead of the writer; an
error while preparing reaches the writer, and a writer that stops stops the preparing."""

import threading
import time
from collections.abc import Iterator

import pytest

from keeptrusts_pipelines.exports.read_ahead import read_ahead


def test_items_come_in_order_and_the_producer_stays_within_its_depth() -> None:
    made: list[int] = []

    def numbers() -> Iterator[int]:
        for number in range(50):
            made.append(number)
            yield number

    seen = []
    for number in read_ahead(numbers(), depth=2):
        time.sleep(0.002)  # a slow writer: the producer must wait for it, not run away
        # Made so far: what was consumed, at most two waiting, and one in the producer's hand.
        assert len(made) <= number + 1 + 2 + 1
        seen.append(number)
    assert seen == list(range(50))


def test_an_error_while_preparing_is_raised_to_the_writer_after_what_came_before() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("a batch could not be read")

    seen = []
    with pytest.raises(ValueError, match="could not be read"):
        for number in read_ahead(failing()):
            seen.append(number)
    assert seen == [1, 2]


def test_a_writer_that_stops_stops_the_producer_and_closes_its_generator() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    def readers() -> int:
        return sum(t.name.startswith("read-ahead") for t in threading.enumerate())

    before = readers()
    batches = read_ahead(endless())
    assert next(batches) == 0
    assert readers() == before + 1
    batches.close()  # as a failed write leaves the loop
    assert closed.is_set()
    assert readers() == before


def test_an_empty_source_ends_at_once() -> None:
    assert list(read_ahead(iter(()))) == []
