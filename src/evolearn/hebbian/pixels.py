"""The pixel front of Najarro & Risi's CarRacing network: two static convolution layers that
turn an 84x84 RGB frame into the 648 inputs of the plastic layers.

    frame [3, 84, 84] in [0, 1]
    -> conv 3->6, 3x3, stride 1, no bias -> tanh -> max-pool 2x2     [6, 41, 41]
    -> conv 6->8, 5x5, stride 2, no bias -> tanh -> max-pool 2x2     [8, 9, 9]
    -> flattened channel first (as torch's ``flatten``)             [648]

The convolution weights (162 + 1,200 = 1,362 numbers) are not plastic: the evolution strategy
evolves them directly, for every rule, as the original does. Their start, as PyTorch's default
for a convolution layer, is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in channels x kernel
area. A frame is the environment's 96x96x3 image resized to 84x84 with OpenCV's area
interpolation (what Gymnasium's ``ResizeObservation`` does) and divided by 255.

:func:`conv_one` is the plain reference (one frame, loops over the kernel's offsets);
:class:`PixelFront` runs a population's frames at once (numba, the pooling and tanh in the same
pass). Pure arrays, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

#: (in channels, out channels, kernel size, stride) of each convolution layer.
CONV_LAYERS = ((3, 6, 3, 1), (6, 8, 5, 2))
#: The side of a frame the network sees, and the pooling window after each convolution.
FRAME_SIDE = 84
POOL = 2


def conv_shapes() -> list[tuple[int, int, int, int]]:
    """``[(out, in, k, k), ...]``: each convolution's weight shape (torch's order)."""
    return [(c_out, c_in, k, k) for c_in, c_out, k, _ in CONV_LAYERS]


def conv_weight_count() -> int:
    return sum(int(np.prod(shape)) for shape in conv_shapes())


def feature_count() -> int:
    """The number of inputs the front gives the plastic layers (648)."""
    side = FRAME_SIDE
    for _, _, k, stride in CONV_LAYERS:
        side = ((side - k) // stride + 1) // POOL
    return CONV_LAYERS[-1][1] * side * side


def initial_conv_weights(rng: np.random.Generator) -> np.ndarray:
    """The convolutions' start as one flat vector: PyTorch's default, U(+-1/sqrt(fan_in))."""
    parts = []
    for shape in conv_shapes():
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        parts.append(rng.uniform(-bound, bound, size=int(np.prod(shape))))
    return np.concatenate(parts)


def split_conv(flat: np.ndarray) -> list[np.ndarray]:
    """A flat vector of :func:`conv_weight_count` numbers -> the layers' weight arrays."""
    layers, start = [], 0
    for shape in conv_shapes():
        size = int(np.prod(shape))
        layers.append(flat[start : start + size].reshape(shape))
        start += size
    return layers


def frame(observation: np.ndarray) -> np.ndarray:
    """An environment's ``[H, W, 3]`` uint8 image -> ``[3, 84, 84]`` float32 in [0, 1]."""
    image = np.asarray(observation)
    if image.shape[:2] != (FRAME_SIDE, FRAME_SIDE):
        import cv2  # imported when a frame needs it: importing it changes LD_LIBRARY_PATH

        image = cv2.resize(image, (FRAME_SIDE, FRAME_SIDE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255)


def _pool_one(x: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` -> the largest of each 2x2 window (a last odd row or column dropped)."""
    c, h, w = x.shape
    h, w = h // POOL * POOL, w // POOL * POOL
    return x[:, :h, :w].reshape(c, h // POOL, POOL, w // POOL, POOL).max(axis=(2, 4))


def conv_one(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The reference: one frame ``[3, 84, 84]`` through the front -> its 648 features, each
    convolution written as the sum over the kernel's offsets of a shifted, strided image."""
    for w, (_, c_out, k, stride) in zip(weights, CONV_LAYERS, strict=True):
        _, h, width = x.shape
        out_h, out_w = (h - k) // stride + 1, (width - k) // stride + 1
        out = np.zeros((c_out, out_h, out_w), dtype=x.dtype)
        for o in range(c_out):
            for di in range(k):
                for dj in range(k):
                    patch = x[
                        :, di : di + stride * out_h : stride, dj : dj + stride * out_w : stride
                    ]
                    out[o] += np.tensordot(w[o, :, di, dj], patch, axes=1)
        x = _pool_one(np.tanh(out))
    return x.ravel()


@njit(cache=True)
def _conv_tanh_pool(x, w, stride, pool):  # pragma: no cover - compiled
    # x [population, c_in, h, w], w [population, c_out, c_in, k, k] -> the pooled tanh maps.
    # The largest of a window is found before tanh: tanh keeps the order.
    population, c_in, h, width = x.shape
    c_out, k = w.shape[1], w.shape[3]
    out_h, out_w = (h - k) // stride + 1, (width - k) // stride + 1
    pooled_h, pooled_w = out_h // pool, out_w // pool
    result = np.empty((population, c_out, pooled_h, pooled_w), dtype=x.dtype)
    plane = np.empty((out_h, out_w), dtype=x.dtype)
    for p in range(population):
        for o in range(c_out):
            plane[:, :] = 0
            for c in range(c_in):
                for di in range(k):
                    for dj in range(k):
                        v = w[p, o, c, di, dj]
                        for y in range(out_h):
                            row = x[p, c, y * stride + di]
                            for xx in range(out_w):
                                plane[y, xx] += v * row[xx * stride + dj]
            for y in range(pooled_h):
                for xx in range(pooled_w):
                    m = plane[y * pool, xx * pool]
                    for a in range(pool):
                        for b in range(pool):
                            q = plane[y * pool + a, xx * pool + b]
                            if q > m or q != q:  # a NaN wins, as in torch's max-pool
                                m = q
                    result[p, o, y, xx] = np.tanh(m)
    return result


@dataclass
class PixelFront:
    """The convolution weights of a population, ``[population, out, in, k, k]`` per layer (in
    the dtype of the frames), and their pass on the population's frames."""

    weights: list[np.ndarray]

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``[population, 3, 84, 84]`` -> ``[population, 648]``, as :func:`conv_one` for each."""
        x = np.ascontiguousarray(frames)
        for w, (_, _, _, stride) in zip(self.weights, CONV_LAYERS, strict=True):
            x = _conv_tanh_pool(x, np.ascontiguousarray(w, dtype=x.dtype), stride, POOL)
        return x.reshape(len(x), -1)

    def select(self, rows: np.ndarray) -> PixelFront:
        """The front of the networks ``rows`` only."""
        return PixelFront([w[rows] for w in self.weights])
