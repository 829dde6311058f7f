"""Cross-entropy and correct answers (evolearn.losses), numpy and torch, by hand."""

import math

import numpy as np
import pytest
import torch

from evolearn.losses import cross_entropy_numpy, cross_entropy_torch


def cross_entropy(logits, y, axis, use_torch):
    """(loss, correct) as numpy arrays, from the numpy or the torch function."""
    if use_torch:
        loss, correct = cross_entropy_torch(torch.from_numpy(logits), torch.from_numpy(y), axis)
        return loss.numpy(), correct.numpy()
    return cross_entropy_numpy(logits, y, axis)


@pytest.mark.parametrize("use_torch", [False, True])
def test_cross_entropy_by_hand_with_the_outputs_last(use_torch):
    # softmax of (0, ln 3) is (1/4, 3/4): -log of it is ln 4 for class 0, ln(4/3) for class 1.
    # A loss without the normaliser (-logit[y]) would give 0 and -ln 3.
    logits = np.array([[0.0, math.log(3)], [0.0, math.log(3)], [2.0, 2.0]])
    y = np.array([0, 1, 1])
    loss, correct = cross_entropy(logits, y, -1, use_torch)
    np.testing.assert_allclose(loss, [math.log(4), math.log(4 / 3), math.log(2)], rtol=1e-12)
    # the third example ties: the first largest output (class 0) is the answer, not y = 1
    np.testing.assert_array_equal(correct, [False, True, False])
    assert loss.dtype == np.float64


@pytest.mark.parametrize("use_torch", [False, True])
def test_cross_entropy_by_hand_with_the_outputs_first(use_torch):
    # [outputs, examples]: the same two examples as above, outputs along axis 0
    logits = np.array([[0.0, 1.0], [math.log(3), 1.0], [-5.0, 1.0 + math.log(2)]])
    y = np.array([1, 2])
    loss, correct = cross_entropy(logits, y, 0, use_torch)
    # second example: exp(1), exp(1), 2 exp(1) -> p(2) = 1/2
    np.testing.assert_allclose(
        loss, [-math.log(3 / (1 + 3 + math.exp(-5))), math.log(2)], rtol=1e-12
    )
    np.testing.assert_array_equal(correct, [True, True])


def test_torch_cross_entropy_keeps_the_gradient():
    logits = torch.tensor([[0.0, math.log(3)]], dtype=torch.float64, requires_grad=True)
    loss, _ = cross_entropy_torch(logits, torch.tensor([0]), 1)
    loss.sum().backward()
    # d/dlogits of -log softmax[0] = softmax - onehot(0) = (1/4 - 1, 3/4)
    np.testing.assert_allclose(logits.grad.numpy(), [[-0.75, 0.75]], rtol=1e-12)


@pytest.mark.parametrize("use_torch", [False, True])
def test_loss_and_answers_follow_log_softmax_and_argmax_with_ties_and_nans(use_torch):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 2, 50)).astype(np.float32)  # [P, O, W, S]
    logits[0, :, 0, :10] = 0.5  # every output ties: the answer is output 0
    logits[1, 1:3, 1, 10:20] = 7.0  # outputs 1 and 2 tie as largest: the answer is 1
    logits[2, 2, 0, 20:25] = np.nan  # a NaN is the answer, as for argmax
    y = rng.integers(0, 4, size=50)
    y[:20] = np.arange(20) % 3
    as64 = logits.astype(np.float64)
    log_softmax = as64 - as64.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    expected_loss = -np.take_along_axis(log_softmax, y[None, None, None, :].repeat(3, 0), 1)
    expected_correct = (as64.argmax(1) == y).sum(-1)
    loss, correct = cross_entropy(logits, y, 1, use_torch)
    loss, correct = loss.astype(np.float64).sum(-1), correct.sum(-1)
    np.testing.assert_array_equal(correct, expected_correct)
    np.testing.assert_allclose(loss, expected_loss[:, 0].sum(-1), rtol=1e-5)
    assert np.isnan(loss[2, 0]) and not np.isnan(loss[2, 1])


def test_torch_reductions_are_those_of_torch_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(256, 10) * 3
    y = torch.randint(0, 10, (256,))
    for reduction in ("none", "mean", "sum"):
        loss, correct = cross_entropy_torch(logits, y, 1, reduction)
        expected = torch.nn.functional.cross_entropy(logits, y, reduction=reduction)
        assert torch.equal(loss, expected), reduction  # bit for bit, the reduction included
    right = logits.argmax(1) == y
    assert cross_entropy_torch(logits, y, 1, "sum")[1] == right.sum()
    assert cross_entropy_torch(logits, y, 1, "mean")[1] == right.float().mean()


@pytest.mark.parametrize("use_torch", [False, True])
def test_cross_entropy_keeps_dimensions_of_size_one(use_torch):
    # Two networks, one weight value, three examples: [P=2, O=3, W=1, S=3] -> [2, 1, 3].
    example = np.array([0.0, math.log(3), 0.0])
    logits = np.tile(example[None, :, None, None], (2, 1, 1, 3))
    loss, correct = cross_entropy(logits, np.array([1, 0, 1]), 1, use_torch)
    assert loss.shape == (2, 1, 3) and correct.shape == (2, 1, 3)
    expected = [math.log(5 / 3), math.log(5), math.log(5 / 3)]
    np.testing.assert_allclose(loss, np.broadcast_to(expected, (2, 1, 3)), rtol=1e-12)
    assert correct[:, 0].tolist() == [[True, False, True]] * 2
