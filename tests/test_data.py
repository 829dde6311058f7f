"""Tests of evolearn.data: IDX reading, WANN preprocessing, MNIST download and cache, digits."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import MNIST_DIR, NEEDS_MNIST

from evolearn import data
from evolearn.data import (
    DATASETS,
    Dataset,
    deskew,
    load_dataset,
    load_digits,
    load_mnist,
    mnist_folder,
    preprocess_mnist,
    read_idx,
)
from evolearn.errors import DataError, UserError

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --------------------------------------------------------------------------------------------
# helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file."""
    assert arr.dtype == np.uint8
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def write_file(path: Path, content: bytes, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(content))
    else:
        path.write_bytes(content)
    return path


def tiny_mnist(n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict[str, bytes]:
    """Uncompressed contents of four small IDX files shaped like MNIST."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n_train + n_test, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    return {
        "train-images-idx3-ubyte": idx_bytes(images[:n_train]),
        "train-labels-idx1-ubyte": idx_bytes(labels[:n_train]),
        "t10k-images-idx3-ubyte": idx_bytes(images[n_train:]),
        "t10k-labels-idx1-ubyte": idx_bytes(labels[n_train:]),
    }


def corrupted(contents: dict[str, bytes]) -> dict[str, bytes]:
    """Same files with the last byte changed: still valid IDX, but the md5 differs."""
    return {stem: c[:-1] + bytes([(c[-1] + 1) % 256]) for stem, c in contents.items()}


@pytest.fixture
def tiny(monkeypatch, tmp_path) -> dict[str, bytes]:
    """Tiny MNIST contents whose md5/size replace the real table; cache dir redirected."""
    contents = tiny_mnist()
    table = {stem: (hashlib.md5(c).hexdigest(), len(c)) for stem, c in contents.items()}
    monkeypatch.setattr(data, "MNIST_FILES", table)
    monkeypatch.setenv("EVOLEARN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EVOLEARN_DATA_DIR", raising=False)
    return contents


def make_mirror(root: Path, name: str, contents: dict[str, bytes]) -> None:
    """Put the gzipped files into www/<name>/ as a mirror serves them."""
    folder = root / name
    folder.mkdir()
    for stem, content in contents.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(content))


def forbid(monkeypatch, name: str) -> None:
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} must not be called when the cache is valid")

    monkeypatch.setattr(data, name, fail)


# --------------------------------------------------------------------------------------------
# read_idx


def test_read_idx_reads_plain_3d_uint8_images(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    path = write_file(tmp_path / "img-idx3-ubyte", idx_bytes(images), gz=False)
    got = read_idx(path)
    assert got.dtype == np.uint8
    assert got.shape == (3, 28, 28)
    np.testing.assert_array_equal(got, images)


def test_read_idx_reads_gzipped_1d_labels(tmp_path):
    labels = np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8)
    path = write_file(tmp_path / "lab-idx1-ubyte", idx_bytes(labels), gz=True)
    assert path.suffix == ".gz"
    got = read_idx(path)
    assert got.shape == (6,)
    np.testing.assert_array_equal(got, labels)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_file_raises_data_error(tmp_path, gz):
    content = idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))
    path = write_file(tmp_path / "img-idx3-ubyte", content[:-100], gz=gz)
    with pytest.raises(DataError, match="truncated or damaged"):
        read_idx(path)


def test_read_idx_bad_magic_raises_data_error(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"<html>not an idx file</html>")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(path)


def test_read_idx_broken_gzip_raises_data_error(tmp_path):
    packed = gzip.compress(idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8)))
    path = tmp_path / "img-idx3-ubyte.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="damaged"):
        read_idx(path)


def test_read_idx_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nothing-here")


# --------------------------------------------------------------------------------------------
# deskew and preprocessing


def slanted_bar() -> np.ndarray:
    """A 16x16 bar leaning right (top to the right), like a slanted '1'."""
    img = np.zeros((16, 16), dtype=np.float32)
    for row in range(2, 14):
        col = 4 + (13 - row) * 0.6
        img[row, int(col) : int(col) + 2] = 1.0
    return img


def test_deskew_leaves_empty_image_unchanged():
    img = np.zeros((16, 16), dtype=np.float32)
    out = deskew(img)
    assert out.shape == (16, 16)
    assert out.dtype == np.float64  # the thesis deskews float64 images
    np.testing.assert_array_equal(out, img)


def test_deskew_leaves_flat_horizontal_line_unchanged():
    # A one-row line has mu02 == 0: no vertical extent, so no skew can be estimated.
    img = np.zeros((16, 16), dtype=np.float32)
    img[8, 3:13] = 1.0
    np.testing.assert_array_equal(deskew(img), img)


def test_deskew_makes_slanted_bar_more_upright():
    img = slanted_bar()
    before = cv2.moments(img)
    after = cv2.moments(deskew(img))
    assert abs(before["mu11"]) > 1.0
    assert abs(after["mu11"]) < 0.25 * abs(before["mu11"])


def test_deskew_matches_wann_formula():
    img = slanted_bar().astype(np.float64)
    m = cv2.moments(img)
    skew = m["mu11"] / m["mu02"]
    matrix = np.float32([[1, skew, -0.5 * 16 * skew], [0, 1, 0]])
    expected = cv2.warpAffine(img, matrix, (16, 16), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
    np.testing.assert_array_equal(deskew(img), expected)


def test_preprocess_mnist_shape_dtype_range():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    images[0] = 0  # an empty image stays empty
    out = preprocess_mnist(images)
    assert out.shape == (7, 256)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[0], 0.0)


def thesis_pixels(image_uint8: np.ndarray) -> np.ndarray:
    """One image as the thesis code (after the WANN code) preprocesses it, written out plainly:
    / 255 in numpy (float64), cv2.resize to 16x16, the image moments, a float32 affine matrix,
    cv2.warpAffine, all on float64 images; float32 only at the end."""
    image = image_uint8 / 255
    assert image.dtype == np.float64
    small = cv2.resize(image, (16, 16))
    m = cv2.moments(small)
    if abs(m["mu02"]) < 1e-2:
        deskewed = small.copy()
    else:
        skew = m["mu11"] / m["mu02"]
        matrix = np.float32([[1, skew, -0.5 * 16 * skew], [0, 1, 0]])
        deskewed = cv2.warpAffine(
            small, matrix, (16, 16), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
        )
    return deskewed.astype(np.float32).reshape(256)


def float32_pixels(image_uint8: np.ndarray) -> np.ndarray:
    """The toolkit's first pipeline (cache version wann16-v1): the same steps on float32."""
    small = cv2.resize(image_uint8.astype(np.float32) / np.float32(255), (16, 16))
    m = cv2.moments(small)
    if abs(m["mu02"]) < 1e-2:
        return small.reshape(256)
    skew = m["mu11"] / m["mu02"]
    matrix = np.array([[1, skew, -0.5 * 16 * skew], [0, 1, 0]])
    return cv2.warpAffine(
        small, matrix, (16, 16), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
    ).reshape(256)


def test_preprocess_mnist_gives_the_thesis_pixels_bit_for_bit():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    images[0] = 0  # empty: not deskewed
    if MNIST_DIR is not None:  # and real digits, whose strokes the warp interpolates
        real = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:200]
        images = np.concatenate([images, real])
    out = preprocess_mnist(images)
    expected = np.stack([thesis_pixels(image) for image in images])
    np.testing.assert_array_equal(out, expected)
    # The float32 pipeline is measurably different, so this test tells the two apart.
    old = np.stack([float32_pixels(image) for image in images])
    assert np.abs(old - expected).max() > 1e-3


# --------------------------------------------------------------------------------------------
# MNIST folder, download and cache


def test_mnist_folder_prefers_argument_then_env_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("EVOLEARN_DATA_DIR", str(tmp_path / "env"))
    assert mnist_folder(tmp_path / "arg") == tmp_path / "arg"
    assert mnist_folder() == tmp_path / "env"
    monkeypatch.delenv("EVOLEARN_DATA_DIR")
    assert mnist_folder() == Path.home() / ".cache" / "evolearn" / "mnist"


def test_download_puts_checked_files_in_folder(tiny, server, tmp_path):
    root, base = server
    make_mirror(root, "good", tiny)
    folder = tmp_path / "mnist"
    ds = load_mnist(folder, progress=False, mirrors=(f"{base}/good/",))
    for stem, content in tiny.items():
        assert gzip.decompress((folder / f"{stem}.gz").read_bytes()) == content
    assert not list(folder.glob("*.part")), "temporary download files must be removed"
    assert isinstance(ds, Dataset)
    assert ds.x_train.shape == (12, 256) and ds.x_test.shape == (5, 256)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_test, np.arange(12, 17) % 10)
    expected = preprocess_mnist(read_idx(folder / "t10k-images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(ds.x_test, expected)


def test_download_with_progress_bar_succeeds(tiny, server, tmp_path, capsys):
    root, base = server
    make_mirror(root, "good", tiny)
    folder = tmp_path / "mnist"
    ds = load_mnist(folder, progress=True, mirrors=(f"{base}/good/",))
    assert ds.x_train.shape == (12, 256)
    # tqdm drew a bar named after each file on stderr (leave=False clears it afterwards).
    stderr = capsys.readouterr().err
    for stem, content in tiny.items():
        assert f"{stem}.gz" in stderr
        assert gzip.decompress((folder / f"{stem}.gz").read_bytes()) == content
    assert not list(folder.glob("*.part"))


def test_download_skips_mirror_with_wrong_content_and_unreachable_mirror(tiny, server, tmp_path):
    root, base = server
    make_mirror(root, "bad", corrupted(tiny))  # valid IDX files, wrong checksums
    make_mirror(root, "good", tiny)
    folder = tmp_path / "mnist"
    mirrors = (f"{base}/missing/", f"{base}/bad/", f"{base}/good/")
    ds = load_mnist(folder, progress=False, mirrors=mirrors)
    for stem, content in tiny.items():
        assert gzip.decompress((folder / f"{stem}.gz").read_bytes()) == content
    assert not list(folder.glob("*.part"))
    assert ds.y_train.shape == (12,)


def test_all_mirrors_failing_raises_data_error_naming_folder_and_missing_files(
    tiny, server, tmp_path
):
    root, base = server
    make_mirror(root, "bad", corrupted(tiny))
    folder = tmp_path / "mnist"
    folder.mkdir()
    # One file is present already: only the other three may be reported missing.
    (folder / "t10k-labels-idx1-ubyte").write_bytes(tiny["t10k-labels-idx1-ubyte"])
    mirrors = (f"{base}/missing/", f"{base}/bad/")
    with pytest.raises(DataError) as info:
        load_mnist(folder, progress=False, mirrors=mirrors)
    message = str(info.value)
    assert str(folder) in message
    missing_sentence = message.split("Downloading")[0]
    for stem in STEMS[:3]:
        assert stem in missing_sentence
    assert "t10k-labels-idx1-ubyte" not in missing_sentence
    assert "--data_dir" in message and "EVOLEARN_DATA_DIR" in message
    for mirror in mirrors:
        assert mirror in message
    assert sorted(p.name for p in folder.iterdir()) == ["t10k-labels-idx1-ubyte"]
    assert isinstance(info.value, UserError)


def test_local_file_with_wrong_content_raises_data_error_naming_it(tiny, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=True)
    wrong = tiny_mnist(seed=5)["train-images-idx3-ubyte"]
    write_file(folder / "train-images-idx3-ubyte", wrong, gz=True)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz has the wrong content"):
        load_mnist(folder, progress=False, mirrors=())


def test_mnist_reads_plain_and_gz_files_from_data_dir_env(tiny, tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for i, (stem, content) in enumerate(tiny.items()):
        write_file(folder / stem, content, gz=bool(i % 2))
    monkeypatch.setenv("EVOLEARN_DATA_DIR", str(folder))
    ds = load_dataset("mnist", progress=False)
    assert ds.name == "mnist"
    assert ds.num_inputs == 256 and ds.num_classes == 10
    assert len(ds.x_train) == len(ds.y_train) == 12


def test_second_mnist_load_uses_cache_in_writable_data_folder(tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("EVOLEARN_CACHE_DIR")  # no cache folder chosen: next to the files
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=True)
    first = load_mnist(folder, progress=False, mirrors=())
    caches = list(folder.glob("*.npz"))
    assert len(caches) == 1
    assert data.PREPROCESS_VERSION in caches[0].name
    forbid(monkeypatch, "preprocess_mnist")
    forbid(monkeypatch, "_read_bytes")
    second = load_mnist(folder, progress=False, mirrors=())
    np.testing.assert_array_equal(second.x_train, first.x_train)
    np.testing.assert_array_equal(second.y_test, first.y_test)


def test_read_only_data_folder_caches_in_evolearn_cache_dir(tiny, tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=True)
    folder.chmod(0o555)
    try:
        load_mnist(folder, progress=False, mirrors=())
        assert not list(folder.glob("*.npz"))
        assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
        forbid(monkeypatch, "preprocess_mnist")
        assert load_mnist(folder, progress=False, mirrors=()).x_test.shape == (5, 256)
    finally:
        folder.chmod(0o755)


def test_a_chosen_cache_dir_keeps_a_writable_data_folder_untouched(tiny, tmp_path, monkeypatch):
    # As the tests' own MNIST folder: writable or not, the toolkit must not write into it.
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=True)
    before = sorted(os.listdir(folder))
    load_mnist(folder, progress=False, mirrors=())
    assert sorted(os.listdir(folder)) == before
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    forbid(monkeypatch, "preprocess_mnist")
    assert load_mnist(folder, progress=False, mirrors=()).x_test.shape == (5, 256)


def test_damaged_cache_is_ignored_and_rebuilt(tiny, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=False)
    first = load_mnist(folder, progress=False, mirrors=())
    (cache,) = (tmp_path / "cache").glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:1000])
    again = load_mnist(folder, progress=False, mirrors=())
    np.testing.assert_array_equal(again.x_train, first.x_train)
    assert cache.stat().st_size > 1000, "the damaged cache must be rewritten"


def test_cache_name_changes_with_preprocess_version_and_source_md5(tiny, tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, content in tiny.items():
        write_file(folder / stem, content, gz=True)
    load_mnist(folder, progress=False, mirrors=())
    name = data._cache_name()
    version = data.PREPROCESS_VERSION
    monkeypatch.setattr(data, "PREPROCESS_VERSION", "test-v2")
    assert data._cache_name() != name
    calls = []
    original = data.preprocess_mnist
    monkeypatch.setattr(data, "preprocess_mnist", lambda x: calls.append(1) or original(x))
    load_mnist(folder, progress=False, mirrors=())
    assert len(calls) == 2, "a new preprocessing version must not reuse the old cache"
    monkeypatch.setattr(data, "PREPROCESS_VERSION", version)
    table = dict(data.MNIST_FILES)
    table["t10k-labels-idx1-ubyte"] = ("0" * 32, table["t10k-labels-idx1-ubyte"][1])
    monkeypatch.setattr(data, "MNIST_FILES", table)
    assert data._cache_name() != name


@pytest.mark.skipif(MNIST_DIR is None, reason=NEEDS_MNIST)
def test_real_mnist_from_its_folder_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLEARN_CACHE_DIR", str(tmp_path))
    before = sorted(os.listdir(MNIST_DIR))
    ds = load_mnist(MNIST_DIR, progress=False, mirrors=())
    assert ds.x_train.shape == (60000, 256) and ds.x_test.shape == (10000, 256)
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(ds.y_train).tolist() == train_counts
    assert np.bincount(ds.y_test).tolist() == test_counts
    # Read-only or writable, the MNIST folder is left as it was: the cache goes to
    # EVOLEARN_CACHE_DIR.
    assert sorted(os.listdir(MNIST_DIR)) == before
    assert len(list(tmp_path.glob("mnist-*.npz"))) == 1
    forbid(monkeypatch, "preprocess_mnist")
    forbid(monkeypatch, "_read_bytes")  # the second start reads only the cache
    cached = load_mnist(MNIST_DIR, progress=False, mirrors=())
    np.testing.assert_array_equal(cached.x_test, ds.x_test)
    np.testing.assert_array_equal(cached.y_train, ds.y_train)


# --------------------------------------------------------------------------------------------
# digits and registry


def test_digits_shapes_dtypes_and_range():
    ds = load_digits()
    assert ds.name == "digits"
    assert ds.x_train.shape == (1347, 64) and ds.x_test.shape == (450, 64)
    assert ds.y_train.shape == (1347,) and ds.y_test.shape == (450,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.num_inputs == 64 and ds.num_classes == 10
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_digits_are_scikit_learns_load_digits_and_train_test_split_without_importing_it():
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    x, y = (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    ds = load_digits()
    for ours, theirs in [(ds.x_train, x_train), (ds.x_test, x_test), (ds.y_train, y_train),
                         (ds.y_test, y_test)]:  # fmt: skip
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_loading_the_digits_imports_no_scikit_learn():
    code = (
        "import sys; from evolearn.data import load_digits; load_digits(); "
        "print('sklearn' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_load_dataset_digits_is_deterministic():
    a, b = load_dataset("digits"), load_dataset("digits", progress=False)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_unknown_dataset_raises_data_error_listing_names():
    assert sorted(DATASETS) == ["digits", "mnist"]
    with pytest.raises(DataError, match="digits, mnist") as info:
        load_dataset("cifar")
    assert "cifar" in str(info.value)


def test_dataset_notes_say_where_the_data_came_from_and_when_data_dir_played_no_part(tmp_path):
    from evolearn.data import dataset_notes, load_digits

    digits = load_digits()
    assert dataset_notes(digits, None) == ["Dataset digits: scikit-learn's bundled digits"]
    assert "is not used" in dataset_notes(digits, str(tmp_path))[1]
    mnist = Dataset("mnist", *digits.arrays().values(), source="the cache /c/mnist.npz")
    assert dataset_notes(mnist, str(tmp_path)) == ["Dataset mnist: the cache /c/mnist.npz"]
    missing = dataset_notes(mnist, str(tmp_path / "nope"))[1]
    assert (
        missing
        == f"data_dir {tmp_path / 'nope'} does not exist; MNIST came from the cache /c/mnist.npz."
    )
