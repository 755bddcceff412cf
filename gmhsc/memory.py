"""Fewer garbage-collector passes while a renderer builds and drops a great many objects.

WeasyPrint lays a long report out as a great many short-lived objects, many in reference cycles
(boxes point at their parents). With CPython's default thresholds (700, 10, 10) that means many
young-generation passes and repeated full passes over everything the process holds, which in a
worker that has just built a large report costs more than the layout itself (figures in README,
Performance). Cycles are still collected, only in larger batches, so memory stays bounded.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RENDER_THRESHOLDS = (50_000, 10, 10)
_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold for the block; nested and threaded uses restore the
    process's own thresholds when the last one leaves."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*RENDER_THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
