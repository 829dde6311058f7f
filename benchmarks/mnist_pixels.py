#!/usr/bin/env python3
"""How far the toolkit's first MNIST pipeline (float32 images) is from the thesis's (float64),
and how long the first and the second start of MNIST take.

    python benchmarks/mnist_pixels.py --data_dir MNIST_DIR

The first start reads the IDX files and preprocesses them (into an empty temporary cache
folder), the second reads the cache it wrote.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import cv2
import numpy as np


def float32_pipeline(images_uint8: np.ndarray) -> np.ndarray:
    """The pipeline of cache version wann16-v1: the thesis's steps, on float32 images."""
    out = np.empty((len(images_uint8), 256), dtype=np.float32)
    for i, image in enumerate(images_uint8):
        small = cv2.resize(image.astype(np.float32) / np.float32(255), (16, 16))
        m = cv2.moments(small)
        if abs(m["mu02"]) < 1e-2:
            out[i] = small.reshape(256)
            continue
        skew = m["mu11"] / m["mu02"]
        matrix = np.array([[1, skew, -0.5 * 16 * skew], [0, 1, 0]])
        flags = cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
        out[i] = cv2.warpAffine(small, matrix, (16, 16), flags=flags).reshape(256)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", required=True, help="where MNIST's IDX files are")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["EVOLEARN_CACHE_DIR"] = cache
        from evolearn.data import _find_file, load_mnist, mnist_folder, read_idx

        start = time.perf_counter()
        dataset = load_mnist(args.data_dir, progress=False)
        first = time.perf_counter() - start
        start = time.perf_counter()
        load_mnist(args.data_dir, progress=False)
        second = time.perf_counter() - start
        print(f"first start (read, preprocess, write the cache): {first:.2f} s")
        print(f"second start (the cache): {second:.2f} s")
        folder = mnist_folder(args.data_dir)
        for split, stem in (
            ("train", "train-images-idx3-ubyte"),
            ("test", "t10k-images-idx3-ubyte"),
        ):
            old = float32_pipeline(read_idx(_find_file(folder, stem)))
            new = getattr(dataset, f"x_{split}")
            diff = np.abs(new.astype(np.float64) - old)
            print(
                f"{split}: max |thesis - float32 pipeline| = {diff.max():.4f}; "
                f"{(diff > 0).mean():.1%} of the pixels differ, in "
                f"{int((diff.max(1) > 0).sum())} of {len(diff)} images; mean difference where "
                f"they differ {diff[diff > 0].mean():.4f}"
            )


if __name__ == "__main__":
    main()
