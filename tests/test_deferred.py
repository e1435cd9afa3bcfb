"""A slow part of a frame (chapter 5's MASK map, an optimisation per map) is deferred on a live
move: the frame is drawn at once with that part marked pending, and the background thread computes
it on its own copy of the interpreter and sends the complete frame (``Panel.later``). These tests
use UnderFire on a tiny untrained CNN with a MASK of a few steps."""
import threading
import time

import pytest
import torch

import advlab as al
from advlab.core.maps import normalize
from advlab.widgets import examples


def _panel():
    x, y, classes = examples.tiny_images()
    model = examples.tiny_model("cnn", 0)
    mask = al.interpret.MeaningfulPerturbation(model, steps=4)
    interps = {"GRAD": (al.interpret.Saliency(model), al.interpret.Saliency(model)),
               "MASK": (mask, al.interpret.MeaningfulPerturbation(model, steps=4, lookahead=1))}
    calibration = torch.rand(24, *x.shape[1:], generator=torch.Generator().manual_seed(5))
    panel = al.widgets.UnderFire(model, interps, x, y, classes=classes, steps=2, calibration=calibration)
    panel.interpreter.value = "GRAD"
    return panel


@pytest.fixture
def live():
    panel = _panel()
    panel.prefetch = True
    yield panel
    panel._generation += 1          # stop the thread
    if panel.prefetch_thread is not None:
        panel.prefetch_thread.join(60)


def _wait(panel):
    while panel.prefetch_thread is not None and panel.prefetch_thread.is_alive() and panel.state.pending:
        time.sleep(0.005)


def test_a_live_move_draws_at_once_with_mask_pending_then_the_complete_frame(live):
    with live._lock:                # the move's frame, before the thread can complete it
        live.eps.value = 4 / 255
        assert live.state.pending == ("MASK",)
        assert "advlab-pending" in live.message.value and "MASK" in live.message.value
        k = list(live.interps).index("MASK")
        assert torch.count_nonzero(live.state.maps[1, k]) == 0 and live.state.l1[k] != live.state.l1[k]  # NaN
        partial = live.image.value
    _wait(live)
    assert live.state.pending == () and live.message.value == ""
    assert live.image.value != partial
    book = _panel()                 # no prefetch: every frame complete, as in the book
    book.eps.value = 4 / 255
    assert book.state.pending == ()
    assert live.image.value == book.image.value
    torch.testing.assert_close(live.state.maps, book.state.maps)
    expected = normalize(live.interps["MASK"][0](live.state.x_adv[None], torch.tensor([live.state.pred_adv])))[0]
    torch.testing.assert_close(live.state.maps[1, k], expected)


def test_the_background_copy_pauses_while_a_callback_runs():
    """The job's forward passes stop while a callback holds (or waits for) the lock: at most one in
    flight when the callback starts."""
    panel = _panel()
    twin = panel._twin(panel.interps["MASK"][0])
    assert twin is not panel.interps["MASK"][0] and twin.model is not panel.model
    calls = []
    twin.model.register_forward_hook(lambda *_: calls.append(time.perf_counter()))
    panel._generation += 1
    x = panel.images[:1]
    job = threading.Thread(target=panel._run_jobs, args=([(("k",), lambda it: it(x, torch.tensor([0])), (
        panel.interps["MASK"][0],))], panel._generation))
    with panel._turn():
        job.start()
        time.sleep(0.3)
        held = len(calls)
    job.join(60)
    assert held <= 1 and len(calls) >= 4 and ("k",) in panel._cache


def test_a_move_makes_the_running_job_give_up(live):
    """A job computing for a frame no longer shown stops at its next forward pass (nothing cached)."""
    x = live.images[:1]
    started = threading.Event()
    def slow(it):
        started.set()
        time.sleep(0.1)
        return it(x, torch.tensor([0]))
    generation = live._generation
    job = threading.Thread(target=live._run_jobs, args=([(("old",), slow, (live.interps["MASK"][0],))], generation))
    job.start()
    started.wait(10)
    live.eps.value = 2 / 255        # another picture
    job.join(60)
    assert ("old",) not in live._cache
    _wait(live)
    assert live.state.pending == ()


def test_no_frame_is_left_pending_outside_a_live_panel():
    panel = _panel()
    for v in (2 / 255, 6 / 255):
        panel.eps.value = v
        assert panel.state.pending == () and panel.message.value == ""
        assert panel.precompute([8 / 255]) >= 0
    assert panel.prefetch_thread is None



def test_a_job_the_new_picture_still_needs_goes_on_and_is_not_computed_twice():
    """After a move whose picture waits for the same slow part (same image, class and map), the
    running job is not given up, and a second thread asking for that part waits for it."""
    panel = _panel()
    x, it = panel.images[:1], panel.interps["MASK"][0]
    calls, started = [], threading.Event()
    def mask(interp):
        calls.append(threading.current_thread().name)
        started.set()
        time.sleep(0.2)
        return interp(x, torch.tensor([0]))
    key, old = ("part",), panel._generation
    first = threading.Thread(target=panel._run_jobs, args=([(key, mask, (it,))], old), name="old")
    first.start()
    started.wait(10)
    panel._generation += 1                                  # the move: its picture waits for the same part
    panel._pending = (panel._generation, [(key, mask, (it,))])
    second = threading.Thread(target=panel._run_jobs, args=([(key, mask, (it,))], panel._generation), name="new")
    second.start()
    first.join(60), second.join(60)
    assert calls == ["old"] and key in panel._cache


def test_pathways_draws_the_channels_first_and_the_edges_when_ready():
    """Chapter 8's graph: on a live move the channels are drawn at once and the edges (one backward
    pass per shown channel) follow; the complete frame equals the one drawn without deferral."""
    live = al.widgets.Pathways.example()
    live.prefetch = True
    try:
        with live._lock:
            live.eps.value = 5 / 255
            assert live.state.pending == ("edges",) and live.state.edges_pending[0]
            assert live.state.graphs[0].edges == [] and live.state.graphs[0].channels
            assert "advlab-pending" in live.message.value
        _wait(live)
        assert live.state.pending == () and live.message.value == ""
        book = al.widgets.Pathways.example()
        book.eps.value = 5 / 255
        assert book.state.pending == () and book.state.graphs[0].edges
        assert live.state.graphs[0].edges == book.state.graphs[0].edges
        assert live.image.value == book.image.value
    finally:
        live._generation += 1
        live.prefetch_thread.join(60)
