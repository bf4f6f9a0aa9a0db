"""The app's process-wide caches (`optimizer.app.cache.SharedCache`), as ``st.cache_resource``
kept them: shared by every session, bounded, each value computed once even when sessions
ask for it at the same time, an error never kept."""

from __future__ import annotations

import threading
import time

import pytest

from optimizer.app.cache import SharedCache


def test_sessions_asking_at_once_share_one_computation() -> None:
    cache: SharedCache[list[int]] = SharedCache(max_entries=2)
    calls: list[str] = []
    results: list[list[int]] = []

    def build() -> list[int]:
        calls.append("built")
        time.sleep(0.2)  # the demo grid takes seconds: the other sessions wait for it
        return [1, 2, 3]

    threads = [threading.Thread(target=lambda: results.append(cache.get("demo:40", build)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["built"]
    assert len(results) == 6 and all(r is results[0] for r in results)  # one shared object


def test_the_least_recently_used_value_goes_first_and_an_error_is_not_kept() -> None:
    cache: SharedCache[str] = SharedCache(max_entries=2)
    calls: list[str] = []

    def make(key: str) -> str:
        calls.append(key)
        return key.upper()

    for key in ("a", "b", "a", "c", "a", "b"):  # "b" is the least recently used when "c" comes
        cache.get(key, lambda key=key: make(key))
    assert calls == ["a", "b", "c", "b"]
    assert len(cache) == 2 and "a" in cache and "b" in cache and "c" not in cache

    def fail() -> str:
        calls.append("failed")
        raise RuntimeError("unreadable grid")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="unreadable grid"):
            cache.get("bad", fail)
    assert calls[-2:] == ["failed", "failed"] and "bad" not in cache
    assert cache.get("bad", lambda: "fixed") == "fixed"
    with pytest.raises(ValueError, match="max_entries: 0"):
        SharedCache(max_entries=0)
