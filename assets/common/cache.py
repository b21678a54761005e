"""A small least-recently-used cache for values read or derived from files within one run."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

CACHE_MIB_ENV = "TRIALPIPE_CACHE_MIB"
DEFAULT_CACHE_MIB = 1024


def cache_budget_bytes() -> int:
    """How many bytes of tables each of the run's read caches keeps (env ``TRIALPIPE_CACHE_MIB``,
    default 1,024 MiB): every table of a 5,000-subject trial fits, and at phase-3 size the run's memory
    stays bounded instead of holding every table it ever read."""
    raw = os.environ.get(CACHE_MIB_ENV, "").strip()
    try:
        mib = int(raw) if raw else DEFAULT_CACHE_MIB
    except ValueError as exc:
        raise ValueError(f"{CACHE_MIB_ENV}={raw!r}: not a whole number of MiB") from exc
    if mib < 0:
        raise ValueError(f"{CACHE_MIB_ENV}={raw!r}: must be 0 or more")
    return mib * 2**20


def arrow_nbytes(value: object) -> int:
    """The bytes an Arrow table holds (0 for anything else cached beside tables)."""
    nbytes = getattr(value, "nbytes", 0)
    return int(nbytes) if isinstance(nbytes, int) else 0


class LruCache(Generic[V]):
    """The ``size`` values used last, by key, and no more than ``max_bytes`` of them as ``weigh``
    counts them (the newest value is kept even when it alone is larger). Callers put the files'
    identity (:func:`assets.common.parquet.file_identity`) in the key, so a rewritten file is read
    again. Unlike ``functools.lru_cache`` the value is made by a closure: what it needs (a spec
    frame, a list of paths) need not be hashable. Safe to share between threads (files are written
    by a pool of threads); two threads missing the same key at once may both make it."""

    def __init__(
        self, size: int, max_bytes: int | None = None, weigh: Callable[[V], int] | None = None
    ) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._weigh = weigh or (lambda _: 0)
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._weights: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value cached for ``key``, else ``make()`` (kept, the oldest dropped past the limits)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()  # outside the lock: a slow read must not hold up the other threads
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``key`` as the most recently used (the oldest dropped past the limits)."""
        weight = self._weigh(value)
        with self._lock:
            self._values[key] = value
            self._weights[key] = weight
            self._values.move_to_end(key)
            while len(self._values) > 1 and (len(self._values) > self.size or self._over_budget()):
                oldest, _ = self._values.popitem(last=False)
                del self._weights[oldest]

    def _over_budget(self) -> bool:
        return self.max_bytes is not None and sum(self._weights.values()) > self.max_bytes

    @property
    def nbytes(self) -> int:
        """What the kept values weigh together."""
        with self._lock:
            return sum(self._weights.values())

    def __len__(self) -> int:
        return len(self._values)
