"""Per-process memories, bounded: of checks already made (signed cookies, CSRF tokens, session
identifiers) and of what never changes once made (decoded lessons, parsed question banks,
parts of pages the same for every learner).

Each worker keeps what it checked for the learners it serves; a batch of 14,000 learners
online together must fit, or every check is made again once the memory is full (a signed
cookie's check costs a tenth of a SCORM commit). When full, the oldest quarter is forgotten
(not everything at once: the learners active now, the courses in use, stay).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import wraps
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Enough for the learners of a large batch online on one worker; about 25 MB per worker at
# most for the largest of these memories (a session cookie and its data per entry).
KEPT = 20_000


class Kept(dict[K, V], Generic[K, V]):
    """A dict of at most `limit` entries: keep() forgets the oldest quarter when it is full."""

    def __init__(self, limit: int = KEPT) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            try:
                for old in list(islice(iter(self), max(1, self.limit // 4))):
                    self.pop(old, None)
            except RuntimeError:  # changed by another thread meanwhile: start afresh
                self.clear()
        self[key] = value
        return value


def remembered(limit: int = KEPT) -> Callable[[Callable[..., V]], Callable[..., V]]:
    """functools.lru_cache for results kept per learner: the function's results by its
    (positional, hashable) arguments in a Kept of `limit` entries (the decorated function's
    `memory`). An LRU smaller than a batch misses at every call when the batch's learners come
    in turn (4,500 SCORM commits in a 4,096-entry LRU: issue 24)."""

    def decorate(function: Callable[..., V]) -> Callable[..., V]:
        memory: Kept[tuple[Hashable, ...], V] = Kept(limit)

        @wraps(function)
        def kept(*args: Hashable) -> V:
            found = memory.get(args)
            if found is None:
                found = memory.keep(args, function(*args))
            return found

        kept.memory = memory  # type: ignore[attr-defined]
        return kept

    return decorate
