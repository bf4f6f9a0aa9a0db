"""`SharedCache`: the app's process-wide caches (grids, gap analyses, re-solve sessions).

What ``st.cache_resource`` gave the app, without Streamlit: one value per key for the whole
process, shared by every browser session and page, at most ``max_entries`` of them (the
least recently used goes first), each computed once even when two sessions ask for it at
the same time, and an error never kept (the next call tries again). Keys are what the value
depends on (a grid key holds the demo's cell size, or a grid folder's path and
modification time), so a changed input is a new key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SharedCache"]

V = TypeVar("V")


class SharedCache(Generic[V]):
    """A thread-safe cache of at most ``max_entries`` values by key, least recently used out.

    Parameters
    ----------
    max_entries : int
        How many values it keeps (at least 1).

    Examples
    --------
    >>> cache: SharedCache[str] = SharedCache(max_entries=2)
    >>> calls = []
    >>> def make(key):
    ...     calls.append(key)
    ...     return key.upper()
    >>> cache.get("a", lambda: make("a")), cache.get("a", lambda: make("a"))
    ('A', 'A')
    >>> cache.get("b", lambda: make("b")), cache.get("c", lambda: make("c"))
    ('B', 'C')
    >>> calls, len(cache), "a" in cache
    (['a', 'b', 'c'], 2, False)
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries: {max_entries}; give 1 or more")
        self.max_entries = int(max_entries)
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()  # guards _values and _making
        self._making: dict[Hashable, threading.Lock] = {}  # one lock per key being computed

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value of ``key``: kept, or ``make()`` kept from now on (an error is not kept)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            making = self._making.setdefault(key, threading.Lock())
        with making:  # a second caller of the same key waits for the first one's value
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                made = make()
                with self._lock:
                    self._values[key] = made
                    while len(self._values) > self.max_entries:
                        self._values.popitem(last=False)
            finally:
                with self._lock:
                    self._making.pop(key, None)
            return made

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
