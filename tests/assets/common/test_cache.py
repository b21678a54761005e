"""The run's read cache: a value is made once per key, the least recently used goes first."""

from __future__ import annotations

import pytest

from assets.common.cache import LruCache


def test_value_is_made_once_per_key_and_the_least_recently_used_is_dropped():
    made = []

    def make(key):
        def _make():
            made.append(key)
            return key.upper()

        return _make

    cache = LruCache(2)
    assert cache.get_or_make("a", make("a")) == "A"
    assert cache.get_or_make("b", make("b")) == "B"
    assert cache.get_or_make("a", make("a")) == "A"  # hit: "a" is now the most recently used
    assert cache.get_or_make("c", make("c")) == "C"  # over size: "b" (least recently used) goes
    assert len(cache) == 2
    assert cache.get_or_make("a", make("a")) == "A"
    assert cache.get_or_make("b", make("b")) == "B"  # made again
    assert made == ["a", "b", "c", "b"]


def test_a_failing_make_caches_nothing():
    cache = LruCache(2)

    def boom():
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        cache.get_or_make("a", boom)
    assert len(cache) == 0
    assert cache.get_or_make("a", lambda: 1) == 1
