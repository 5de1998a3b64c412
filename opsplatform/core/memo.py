"""Reads that hold for one batch of work.

A batch job that runs many small actions in one transaction (an automation chunk) opens a
``scope``; inside it, a read that many of its actions repeat (who holds the operator role, those
people's contact methods and addresses) is made once and its answer reused. Outside a scope nothing
is remembered, so every other caller reads the database as before. Answers are shared: callers
must not change them.
"""

import contextlib
import contextvars
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("batch_memo", default=None)


@contextlib.contextmanager
def scope():
    """Remember reads until the block ends (a scope inside a scope shares the outer one's)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or inside a scope the answer it gave for ``key`` earlier in the scope."""
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]
