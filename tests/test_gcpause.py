"""`gcpause.paused`: the GC is off inside, back as it was after, even when the batch fails."""

from __future__ import annotations

import gc

import pytest

from tui_desk.tickets import gcpause


def test_gc_is_off_inside_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gcpause.paused():
        assert not gc.isenabled()
        raise RuntimeError("a batch that fails")
    assert gc.isenabled()


def test_nested_and_already_disabled_are_left_as_they_were() -> None:
    with gcpause.paused():
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the inner pause must not turn the GC back on for the outer"
    assert gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled(), "a GC someone else turned off stays off"
    finally:
        gc.enable()
