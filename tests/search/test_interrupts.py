"""Ctrl-C and SIGTERM in the generation loop: at once inside an evaluation, held anywhere else
until the next one begins (never inside the code that writes the log and the checkpoint)."""

import os
import signal
import threading

import pytest

from evolearn.search.generations import InterruptGuard


@pytest.fixture
def guard():
    guard = InterruptGuard()
    guard.install()
    yield guard
    guard.restore()


def test_a_signal_inside_an_evaluation_interrupts_it_at_once(guard):
    reached = []
    with pytest.raises(KeyboardInterrupt), guard.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        reached.append("after the signal")
    assert reached == [] and not guard.pending


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_outside_an_evaluation_is_held_until_the_next_one_begins(guard, sig):
    lock = threading.Lock()
    held = None
    try:
        with lock:  # as the log or tensorboard's queue would hold one
            os.kill(os.getpid(), sig)
            held = "the code holding the lock went on"
    except KeyboardInterrupt:
        pytest.fail("the signal was raised outside an evaluation, where the run holds locks")
    assert held and guard.pending and not lock.locked()
    ran = []
    with pytest.raises(KeyboardInterrupt), guard.interruptible():
        ran.append("the next evaluation")  # never starts
    assert ran == [] and not guard.pending


def test_after_the_first_signal_a_second_one_exits_at_once(guard):
    os.kill(os.getpid(), signal.SIGINT)
    assert guard.pending
    handler = signal.getsignal(signal.SIGINT)
    assert handler is not signal.default_int_handler and handler.__name__ == "exit_now"


def test_restore_gives_back_the_handlers_it_replaced():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    guard = InterruptGuard()
    guard.install()
    assert signal.getsignal(signal.SIGINT) is not before[0]
    guard.restore()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
