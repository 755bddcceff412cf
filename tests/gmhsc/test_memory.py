"""fewer_collections: the renderers' garbage-collector thresholds are raised only inside the block."""

from __future__ import annotations

import gc
import threading

import pytest

from gmhsc.memory import RENDER_THRESHOLDS, fewer_collections


@pytest.fixture
def own_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_thresholds_are_raised_inside_and_restored_after(own_thresholds):
    with fewer_collections():
        assert gc.get_threshold() == RENDER_THRESHOLDS == (50_000, 10, 10)
    assert gc.get_threshold() == own_thresholds


def test_restored_after_an_error(own_thresholds):
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("render failed")
    assert gc.get_threshold() == own_thresholds


def test_nested_and_overlapping_uses_restore_only_when_the_last_leaves(own_thresholds):
    entered, release = threading.Event(), threading.Event()

    def other_render() -> None:
        with fewer_collections():
            entered.set()
            release.wait(5)

    with fewer_collections():
        worker = threading.Thread(target=other_render)
        worker.start()
        assert entered.wait(5)
        with fewer_collections():
            pass
        assert gc.get_threshold() == RENDER_THRESHOLDS
    # The other thread is still rendering: its block keeps the raised thresholds.
    assert gc.get_threshold() == RENDER_THRESHOLDS
    release.set()
    worker.join(5)
    assert gc.get_threshold() == own_thresholds
