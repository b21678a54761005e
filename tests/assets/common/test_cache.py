"""The run's read cache: a value is made once per key, the least recently used goes first."""

from __future__ import annotations

import pytest

from assets.common.cache import CACHE_MIB_ENV, LruCache, arrow_nbytes, cache_budget_bytes


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


class Sized:
    def __init__(self, name: str, nbytes: int) -> None:
        self.name, self.nbytes = name, nbytes


def test_the_oldest_values_go_past_the_byte_budget_and_the_newest_always_stays():
    cache: LruCache[Sized] = LruCache(10, max_bytes=100, weigh=arrow_nbytes)
    for name, size in [("a", 40), ("b", 40), ("c", 20)]:
        cache.put(name, Sized(name, size))
    assert (len(cache), cache.nbytes) == (3, 100)  # exactly the budget: all kept
    cache.get_or_make("a", lambda: Sized("never", 0))  # "a" is now the most recently used
    cache.put("d", Sized("d", 1))  # 101 bytes: "b", the least recently used, goes
    assert cache.get_or_make("b", lambda: Sized("b again", 40)).name == "b again"
    assert cache.nbytes <= 100
    cache.put("huge", Sized("huge", 500))  # larger than the budget alone: kept, all else goes
    assert (len(cache), cache.nbytes) == (1, 500)
    assert cache.get_or_make("huge", lambda: Sized("never", 0)).name == "huge"


def test_an_arrow_table_weighs_its_buffers_and_other_values_nothing():
    import pyarrow as pa

    table = pa.table({"x": pa.array(range(1000), pa.int64())})
    assert arrow_nbytes(table) == 8000
    assert arrow_nbytes("a description") == 0


@pytest.mark.parametrize(
    ("raw", "expected"), [("", 1024 * 2**20), ("0", 0), (" 64 ", 64 * 2**20), ("2048", 2048 * 2**20)]
)
def test_cache_budget_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(CACHE_MIB_ENV, raw)
    assert cache_budget_bytes() == expected


@pytest.mark.parametrize("raw", ["1.5", "lots", "-1"])
def test_a_bad_cache_budget_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv(CACHE_MIB_ENV, raw)
    with pytest.raises(ValueError, match=CACHE_MIB_ENV):
        cache_budget_bytes()
