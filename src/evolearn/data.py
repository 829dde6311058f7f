"""Datasets: scikit-learn's 8x8 digits and MNIST preprocessed as in the WANN paper.

Every loader returns a :class:`Dataset` with float32 inputs of shape [N, num_inputs] and
int64 labels of shape [N]:

* ``digits``: 1347 train / 450 test images of 8x8 pixels scaled to [0, 1] (64 inputs).
* ``mnist``: 60000 train / 10000 test images, scaled to [0, 1], resized to 16x16 and
  deskewed (256 inputs).

MNIST is read from the four standard IDX files (plain or gzipped) in :func:`mnist_folder`;
missing files are downloaded from :data:`MNIST_MIRRORS`. The preprocessed arrays are cached
as an ``.npz`` so that the next load skips both reading the IDX files and preprocessing.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from evolearn.errors import DataError, ParamError, UserError

NUM_CLASSES = 10

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# md5 and size in bytes of the *uncompressed* IDX files. The md5 of the .gz wrappers is not
# checked because gzip output differs between tools (see /work/shared/datasets/mnist).
# Tests replace this table to serve tiny files.
MNIST_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47040016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7840016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10008),
}

# Bump whenever preprocess_mnist or deskew changes: the tag is part of the cache file name,
# so old caches are then ignored instead of silently giving stale inputs.
PREPROCESS_VERSION = "wann16-v2"  # v2: float64 as the thesis (v1 warped float32 images)

MNIST_SIDE = 16  # side of the resized, deskewed images
DOWNLOAD_TIMEOUT_S = 30.0

# IDX type byte -> numpy dtype (all multi-byte types are big-endian in the format).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True, eq=False)  # eq=False: comparing/hashing ndarray fields is meaningless
class Dataset:
    """A classification dataset split into train and test parts.

    ``x_train``: float32 [N_train, num_inputs], ``y_train``: int64 [N_train],
    ``x_test``: float32 [N_test, num_inputs], ``y_test``: int64 [N_test].
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    #: Where the arrays came from (a cache file, a folder of IDX files, scikit-learn).
    source: str = ""

    @property
    def num_inputs(self) -> int:
        """Number of input features (64 for digits, 256 for mnist)."""
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes (10 for both datasets)."""
        return NUM_CLASSES

    def arrays(self) -> dict[str, np.ndarray]:
        """The four arrays by name (``x_train``, ``y_train``, ``x_test``, ``y_test``), as the
        worker pool shares them."""
        return {
            "x_train": self.x_train,
            "y_train": self.y_train,
            "x_test": self.x_test,
            "y_test": self.y_test,
        }


# --------------------------------------------------------------------------------------------
# digits


def digits_file() -> Path:
    """The digits as scikit-learn ships them (``sklearn/datasets/data/digits.csv.gz``), found
    without importing scikit-learn (its import costs about a second, in every process of a
    run on digits)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the digits dataset comes with scikit-learn: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def load_digits(data_dir: str | None = None, *, progress: bool = True) -> Dataset:
    """scikit-learn's bundled 8x8 digits: x float32 [1347, 64] / [450, 64] in [0, 1].

    The split is ``sklearn.model_selection.train_test_split(x, y, random_state=0)``'s, computed
    as it does (a quarter for the test set, from ``RandomState(0).permutation``), which the
    tests hold it to. ``data_dir`` and ``progress`` are accepted for a uniform loader signature
    and ignored: the data ships with scikit-learn.
    """
    data = np.loadtxt(digits_file(), delimiter=",")
    x = (data[:, :-1] / 16.0).astype(np.float32)
    y = data[:, -1].astype(np.int64)
    n_test = int(np.ceil(0.25 * len(x)))
    order = np.random.RandomState(0).permutation(len(x))
    test, train = order[:n_test], order[n_test:]
    x_train, x_test, y_train, y_test = x[train], x[test], y[train], y[test]
    return Dataset(
        "digits",
        np.ascontiguousarray(x_train),
        np.ascontiguousarray(y_train),
        np.ascontiguousarray(x_test),
        np.ascontiguousarray(y_test),
        "scikit-learn's bundled digits",
    )


# --------------------------------------------------------------------------------------------
# IDX files


def _read_bytes(path: Path) -> bytes:
    """The content of ``path``, gunzipped when the name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"File not found: {path}") from None
    except (OSError, EOFError, zlib.error) as e:
        # gzip.BadGzipFile is an OSError; a truncated .gz raises EOFError.
        raise DataError(f"Cannot read {path}: {e}. The file is damaged; delete it.") from None


def _parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse IDX bytes into an array in native byte order (a copy, writable)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{name} is not an IDX file (bad magic number); the file is damaged.")
    dtype = _IDX_DTYPES[data[2]]
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{name}: bad IDX header ({ndim} dimensions); the file is damaged.")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{name}: IDX header says {dims} ({expected} bytes) but the file has "
            f"{len(data)} bytes; the file is truncated or damaged."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into an array of the shape in its header.

    MNIST images come back as uint8 [N, 28, 28], labels as uint8 [N]. A missing or
    damaged file (bad magic, header or size, broken gzip) raises :class:`DataError`.
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), path.name)


# --------------------------------------------------------------------------------------------
# preprocessing


def deskew(image16: np.ndarray) -> np.ndarray:
    """Straighten a slanted digit by its image moments: [16, 16] -> float64 [16, 16].

    As in the WANN paper's code, which the thesis took over: if the second vertical central
    moment ``mu02`` is tiny (empty or flat image) the image is returned unchanged, else it is
    sheared horizontally by ``skew = mu11 / mu02`` around the image centre. The image is
    warped in float64, the affine matrix is float32 (``skew`` rounded to float32, as there):
    OpenCV interpolates float32 images differently, by up to 0.015 per pixel.
    """
    img = np.ascontiguousarray(image16, dtype=np.float64)
    side = img.shape[0]
    m = cv2.moments(img)
    if abs(m["mu02"]) < 1e-2:
        return img.copy()
    skew = m["mu11"] / m["mu02"]
    matrix = np.array([[1, skew, -0.5 * side * skew], [0, 1, 0]], dtype=np.float32)
    return cv2.warpAffine(img, matrix, (side, side), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


def preprocess_mnist(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 [N, 28, 28] -> float32 [N, 256]: scale to [0, 1], resize to 16x16, deskew.

    The thesis's pipeline to the last bit: ``/ 255`` in numpy (float64), ``cv2.resize``
    (bilinear) and :func:`deskew` on the float64 images, cast to float32 only at the end. About
    2 s per 60000 images; one cv2 call per image because cv2.resize and warpAffine work on
    single 2-d images.
    """
    images = np.asarray(images_uint8)
    if images.ndim != 3:
        raise DataError(f"MNIST images must have shape [N, H, W], got {images.shape}.")
    out = np.empty((len(images), MNIST_SIDE, MNIST_SIDE), dtype=np.float64)
    for i, image in enumerate(images):
        img = image / 255.0  # float64, as numpy divides uint8 arrays (one image at a time)
        small = cv2.resize(img, (MNIST_SIDE, MNIST_SIDE), interpolation=cv2.INTER_LINEAR)
        out[i] = deskew(small)
    return out.astype(np.float32).reshape(len(images), MNIST_SIDE * MNIST_SIDE)


# --------------------------------------------------------------------------------------------
# MNIST: folders, download, cache


def mnist_folder(data_dir: str | os.PathLike | None = None) -> Path:
    """Where MNIST is looked for: ``data_dir``, else $EVOLEARN_DATA_DIR, else
    ``~/.cache/evolearn/mnist``."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get("EVOLEARN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/evolearn/mnist").expanduser()


def _cache_dir() -> Path:
    """Fallback cache folder for a read-only MNIST folder: $EVOLEARN_CACHE_DIR or
    ``~/.cache/evolearn``."""
    env = os.environ.get("EVOLEARN_CACHE_DIR")
    return Path(env).expanduser() if env else Path("~/.cache/evolearn").expanduser()


def _cache_name() -> str:
    # The source md5s are part of the name so that other source files never reuse the cache.
    md5s = hashlib.md5("".join(md5 for md5, _ in MNIST_FILES.values()).encode()).hexdigest()
    return f"mnist-{PREPROCESS_VERSION}-{md5s[:16]}.npz"


def _writable_folder(folder: Path) -> bool:
    """Create ``folder`` if needed and say whether files may be written into it.

    A folder without any write permission bit counts as read-only even for root (who could
    write anyway): such a folder is a shared copy that must not be modified.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)
    except OSError:
        return False


def _move_into_place(tmp: Path, dest: Path) -> None:
    # mkstemp creates files as 0600; make the result readable like any other data file.
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)


def _find_file(folder: Path, stem: str) -> Path | None:
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            return path
    return None


def _content_error(data: bytes, stem: str) -> str | None:
    """Why ``data`` is not the expected uncompressed content of IDX file ``stem``, or None."""
    md5, size = MNIST_FILES[stem]
    got = hashlib.md5(data).hexdigest()
    if got == md5 and len(data) == size:
        return None
    return (
        f"wrong content (md5 {got}, {len(data)} bytes uncompressed; "
        f"expected md5 {md5}, {size} bytes)"
    )


def _download(url: str, dest: Path, stem: str, progress: bool) -> None:
    """Download ``url`` into ``dest`` via a temporary file, keeping it only if its content
    passes the md5 check. Raises OSError/DataError/ValueError on failure."""
    from tqdm import tqdm

    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp,
        ):
            total = resp.headers.get("Content-Length")
            with tqdm(
                total=int(total) if total and total.isdigit() else None,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=dest.name,
                disable=not progress,
                leave=False,
            ) as bar:
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
        # Check the uncompressed content; mirrors serve gzip, but accept a plain file too.
        raw = tmp.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                raise DataError(f"broken gzip data ({e})") from None
        else:
            dest = dest.with_name(stem)
        error = _content_error(raw, stem)
        if error:
            raise DataError(error)
        _move_into_place(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _download_missing(
    folder: Path, missing: list[str], mirrors: tuple[str, ...], progress: bool
) -> None:
    """Download each missing IDX file into ``folder``, trying the mirrors in order."""
    still_missing: list[str] = []
    reasons: dict[str, list[str]] = {}  # mirror -> distinct reasons it failed
    if not _writable_folder(folder):
        still_missing = list(missing)
        tried = f"none tried, because {folder} cannot be created or is not writable"
    else:
        for stem in missing:
            for mirror in mirrors:
                url = f"{mirror.rstrip('/')}/{stem}.gz"
                try:
                    _download(url, folder / f"{stem}.gz", stem, progress)
                    break
                except (OSError, ValueError, DataError) as e:
                    # URLError, HTTPError, timeouts and disk errors are all OSErrors.
                    why = str(e) or type(e).__name__
                    if why not in reasons.setdefault(mirror, []):
                        reasons[mirror].append(why)
            else:
                still_missing.append(stem)
        tried = (
            "; ".join(
                f"{mirror} ({', '.join(reasons.get(mirror, [])) or 'ok'})" for mirror in mirrors
            )
            or "none given"
        )
    if still_missing:
        raise DataError(
            f"MNIST files missing in {folder}: {', '.join(still_missing)}. Downloading them "
            f"failed (mirrors tried: {tried}). Put the four IDX files (plain or .gz: "
            f"{', '.join(MNIST_FILES)}) into {folder}, or point the --data_dir option or "
            f"the EVOLEARN_DATA_DIR environment variable at a folder that has them."
        )


def _load_cache(path: Path) -> tuple[np.ndarray, ...] | None:
    """The four cached arrays, or None when the cache is missing or damaged."""
    if not path.is_file():
        return None
    # A label file is an 8-byte header plus one byte per image.
    n_train = MNIST_FILES["train-labels-idx1-ubyte"][1] - 8
    n_test = MNIST_FILES["t10k-labels-idx1-ubyte"][1] - 8
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = tuple(npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except Exception:  # any damage (truncated zip, bad header, missing key) means rebuild
        return None
    x_train, y_train, x_test, y_test = arrays
    side2 = MNIST_SIDE * MNIST_SIDE
    ok = (
        x_train.shape == (n_train, side2)
        and x_test.shape == (n_test, side2)
        and y_train.shape == (n_train,)
        and y_test.shape == (n_test,)
        and x_train.dtype == np.float32
        and x_test.dtype == np.float32
        and y_train.dtype == np.int64
        and y_test.dtype == np.int64
    )
    return arrays if ok else None


def _save_cache(folder: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write the cache atomically into ``folder``; None when the folder is not writable."""
    if not _writable_folder(folder):
        return None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".mnist-", suffix=".npz.part", dir=folder)
    except OSError:
        return None
    tmp = Path(tmp_name)
    try:
        # Uncompressed: loading 72 MB plain is ~10x faster than decompressing it.
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        dest = folder / _cache_name()
        _move_into_place(tmp, dest)
        return dest
    except OSError:
        return None
    finally:
        tmp.unlink(missing_ok=True)


def mnist_mirrors() -> tuple[str, ...]:
    """Where missing MNIST files are downloaded from: the URLs in $EVOLEARN_MNIST_MIRRORS
    (separated by spaces; a copy on a local server, say), else :data:`MNIST_MIRRORS`."""
    urls = os.environ.get("EVOLEARN_MNIST_MIRRORS")
    if urls is None:
        return MNIST_MIRRORS
    return tuple(url if url.endswith("/") else url + "/" for url in urls.split())


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    mirrors: tuple[str, ...] | None = None,
) -> Dataset:
    """MNIST preprocessed as in the WANN paper: x float32 [60000, 256] / [10000, 256].

    Looks in :func:`mnist_folder` (``data_dir``, $EVOLEARN_DATA_DIR or
    ``~/.cache/evolearn/mnist``). A cached ``.npz`` of the preprocessed arrays, in that folder
    or in $EVOLEARN_CACHE_DIR (default ``~/.cache/evolearn``), is used when present. Else the
    IDX files are read (missing ones downloaded from ``mirrors``, default
    :func:`mnist_mirrors`), checked against their md5,
    preprocessed and the cache is written: into $EVOLEARN_CACHE_DIR when it is set, else next
    to the files (``~/.cache/evolearn`` when their folder is read-only). Failures raise
    :class:`DataError`.
    """
    folder = mnist_folder(data_dir)
    cache_folders = [folder, _cache_dir()]
    for cache_folder in cache_folders:
        cached = _load_cache(cache_folder / _cache_name())
        if cached is not None:
            return Dataset("mnist", *cached, source=f"the cache {cache_folder / _cache_name()}")

    missing = [stem for stem in MNIST_FILES if _find_file(folder, stem) is None]
    if missing:
        urls = mnist_mirrors() if mirrors is None else tuple(mirrors)
        _download_missing(folder, missing, urls, progress)

    parsed: dict[str, np.ndarray] = {}
    for stem in MNIST_FILES:
        path = _find_file(folder, stem)
        if path is None:  # deleted between the download and now
            raise DataError(f"MNIST file {stem} disappeared from {folder}.")
        data = _read_bytes(path)
        error = _content_error(data, stem)
        if error:
            raise DataError(
                f"MNIST file {path} has the {error}. The file is damaged or not the original "
                f"MNIST file; delete it so that it is downloaded again."
            )
        parsed[stem] = _parse_idx(data, path.name)

    arrays = {
        "x_train": preprocess_mnist(parsed["train-images-idx3-ubyte"]),
        "y_train": parsed["train-labels-idx1-ubyte"].astype(np.int64),
        "x_test": preprocess_mnist(parsed["t10k-images-idx3-ubyte"]),
        "y_test": parsed["t10k-labels-idx1-ubyte"].astype(np.int64),
    }
    for name in ("train", "test"):
        if len(arrays[f"x_{name}"]) != len(arrays[f"y_{name}"]):
            raise DataError(f"MNIST {name} images and labels differ in number in {folder}.")

    # $EVOLEARN_CACHE_DIR, when set, is where caches go; else next to the files, unless the
    # data folder is read-only (a shared copy): then ~/.cache/evolearn.
    write_folders = [_cache_dir()] if os.environ.get("EVOLEARN_CACHE_DIR") else cache_folders
    for cache_folder in write_folders:
        if _save_cache(cache_folder, arrays) is not None:
            break
    return Dataset("mnist", *arrays.values(), source=f"the IDX files in {folder}")


# --------------------------------------------------------------------------------------------
# registry

DATASETS: dict[str, Callable[..., Dataset]] = {"digits": load_digits, "mnist": load_mnist}


def load_dataset(name: str, data_dir: str | None = None, *, progress: bool = True) -> Dataset:
    """Load dataset ``name`` (a key of :data:`DATASETS`); unknown names raise DataError."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise DataError(
            f"Unknown dataset {name!r}; choose one of: {', '.join(sorted(DATASETS))}."
        ) from None
    return loader(data_dir=data_dir, progress=progress)


def dataset_notes(dataset: Dataset, data_dir: str | None) -> list[str]:
    """Log lines saying where the data came from, and when ``data_dir`` played no part."""
    notes = [f"Dataset {dataset.name}: {dataset.source}"]
    if data_dir and dataset.name == "digits":
        notes.append(f"data_dir {data_dir} is not used: the digits come with scikit-learn.")
    elif data_dir and not Path(data_dir).expanduser().is_dir():
        notes.append(f"data_dir {data_dir} does not exist; MNIST came from {dataset.source}.")
    return notes


def check_fits_dataset(params, dataset: Dataset) -> None:
    """num_inputs, num_outputs and batch_size must fit the dataset (ParamError otherwise)."""
    if params.num_inputs != dataset.num_inputs:
        raise ParamError(
            f"num_inputs is {params.num_inputs} but dataset {dataset.name!r} has "
            f"{dataset.num_inputs} inputs per sample; set num_inputs: {dataset.num_inputs}."
        )
    if params.num_outputs != dataset.num_classes:
        raise ParamError(
            f"num_outputs is {params.num_outputs} but dataset {dataset.name!r} has "
            f"{dataset.num_classes} classes; set num_outputs: {dataset.num_classes}."
        )
    if params.batch_size > len(dataset.x_train):
        raise ParamError(
            f"batch_size is {params.batch_size} but dataset {dataset.name!r} has only "
            f"{len(dataset.x_train)} training samples; choose a batch_size of at most that."
        )
