"""``jobs._memo.Memo``: the web caches' memo — least recently used, single flight, and nothing kept
from a computation that a clear overtook."""

from __future__ import annotations

import threading
import time

import pytest

from shanhai.jobs._memo import Memo


def test_concurrent_misses_of_one_key_compute_once():
    memo, calls = Memo(8), []
    started = threading.Event()

    def compute():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "value"

    got = []
    threads = [threading.Thread(target=lambda: got.append(memo.get("k", compute))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == ["value"] * 8 and len(calls) == 1


def test_a_failed_computation_keeps_nothing_and_the_waiters_compute_again():
    memo, calls = Memo(8), []
    gate = threading.Event()

    def failing():
        calls.append("fail")
        gate.wait(2)
        raise RuntimeError("boom")

    def fine():
        calls.append("fine")
        return 42

    errors, got = [], []

    def first():
        try:
            memo.get("k", failing)
        except RuntimeError as exc:
            errors.append(str(exc))

    a = threading.Thread(target=first)
    a.start()
    while not calls:
        time.sleep(0.01)
    b = threading.Thread(target=lambda: got.append(memo.get("k", fine)))
    b.start()
    time.sleep(0.1)
    assert got == []            # b waits for a's computation
    gate.set()
    a.join()
    b.join()
    assert errors == ["boom"] and got == [42] and calls == ["fail", "fine"] and memo.peek("k") == 42


def test_a_value_computed_across_a_clear_is_not_kept():
    memo = Memo(8)
    inside = threading.Event()
    release = threading.Event()

    def slow():
        inside.set()
        release.wait(2)
        return "before the import"

    t = threading.Thread(target=lambda: memo.get("k", slow))
    t.start()
    inside.wait(2)
    memo.clear()                # an import finished meanwhile
    release.set()
    t.join()
    assert "k" not in memo
    assert memo.get("k", lambda: "after") == "after"


def test_least_recently_used_entries_go_first_and_clear_takes_a_predicate():
    memo = Memo(2)
    memo.get(("a", 1), lambda: 1)
    memo.get(("b", 2), lambda: 2)
    memo.get(("a", 1), pytest.fail)         # a hit: no computation, and ("a", 1) is now the newest
    memo.get(("c", 3), lambda: 3)
    assert ("b", 2) not in memo and ("a", 1) in memo and len(memo) == 2
    memo.clear(lambda key: key[0] == "a")
    assert ("a", 1) not in memo and ("c", 3) in memo
