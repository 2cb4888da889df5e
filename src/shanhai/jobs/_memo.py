"""One memo for the web's caches (the dashboard's reads of stored runs, chain cells, rendered page
bodies, the views of ``web.screens.cached_view``): least recently used entries dropped beyond ``size``, and single flight — when several
threads miss the same key at once, one computes and the others wait for its value instead of
computing it again. After an import clears the caches, a hundred readers of the same page then
cost one computation, not a hundred competing for the same two cores (docs/operations.md, "Load").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class Memo:
    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value kept under ``key``, computed by ``compute()`` once if there is none. A value
        computed while the memo was cleared is returned to its caller but not kept (it may
        predate what the clearing was for); a failed computation keeps nothing, and the threads
        that waited for it compute for themselves."""
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    generation = self._generation
                    break
            running.wait()
        try:
            value = compute()
            with self._lock:
                if generation == self._generation:
                    self._values[key] = value
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                if self._running.get(key) is running:
                    del self._running[key]
            running.set()

    def peek(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._values.get(key)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self, where: Callable[[Any], bool] | None = None) -> None:
        """Forget every entry, or those whose key satisfies ``where``."""
        with self._lock:
            self._generation += 1
            if where is None:
                self._values.clear()
            else:
                for key in [k for k in self._values if where(k)]:
                    del self._values[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values
