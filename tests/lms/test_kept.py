"""lms.app.kept: the per-process memories of checked cookies and tokens stay bounded and, when
full, forget their oldest entries, not the learners active now."""

from __future__ import annotations

from lms.app.csrf import _CHECKED
from lms.app.extensions import _IDENTIFIERS
from lms.app.kept import KEPT, Kept, remembered
from lms.services.tracking.commits import _launch
from lms.services.tracking.registration_facts import _FACTS, _SAME
from lms.web.content import _OPENED
from lms.web.offline import _user_key
from lms.web.urls import _SIGNED_TOKENS


def test_a_full_memory_forgets_its_oldest_quarter():
    kept: Kept[int, str] = Kept(limit=8)
    for n in range(8):
        kept.keep(n, f"v{n}")
    assert len(kept) == 8
    assert kept.keep(8, "v8") == "v8"
    assert sorted(kept) == [2, 3, 4, 5, 6, 7, 8]  # 0 and 1 (a quarter of 8) forgotten
    for n in range(9, 40):
        kept.keep(n, f"v{n}")
        assert len(kept) <= 8 and kept[n] == f"v{n}"
    assert 39 in kept and 38 in kept and 0 not in kept


def test_the_site_s_memories_hold_a_large_batch():
    # A batch of 14,000 learners online on one worker must fit (issue 24's load test): the
    # commit's launch values and the pages' offline key are kept per learner too (in a
    # 4,096-entry LRU, a batch of 4,500 committing in turn missed at every commit).
    assert KEPT >= 14_000
    for memory in (
        _CHECKED,
        _OPENED,
        _SIGNED_TOKENS,
        _IDENTIFIERS,
        _launch.memory,
        _user_key.memory,
        _FACTS,
        _SAME,
    ):
        assert isinstance(memory, Kept) and memory.limit == KEPT


def test_a_remembered_function_is_called_once_per_arguments_and_bounded():
    calls = []

    @remembered(limit=4)
    def square(n: int) -> int:
        calls.append(n)
        return n * n

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]
    for n in range(10):
        assert square(n) == n * n
    assert len(square.memory) <= 4
