"""A small least-recently-used cache for values read or derived from files within one run."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    """The ``size`` values used last, by key. Callers put the files' identity
    (:func:`assets.common.parquet.file_identity`) in the key, so a rewritten file is read again.
    Unlike ``functools.lru_cache`` the value is made by a closure: what it needs (a spec frame, a
    list of paths) need not be hashable. Safe to share between threads (files are written by a pool
    of threads); two threads missing the same key at once may both make it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value cached for ``key``, else ``make()`` (kept, the oldest dropped past ``size``)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()  # outside the lock: a slow read must not hold up the other threads
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``key`` as the most recently used (the oldest dropped past ``size``)."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)
