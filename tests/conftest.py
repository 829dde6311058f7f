import atexit
import functools
import hashlib
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What the tests write outside their tmp_path (the network log, dataset caches) goes into one
# folder of this test process, removed when it ends.
SESSION_TMP = Path(tempfile.mkdtemp(prefix="evolearn-tests-"))
atexit.register(shutil.rmtree, SESSION_TMP, ignore_errors=True)

# The real MNIST files, for the tests that need them: the folder $EVOLEARN_DATA_DIR names (CI
# sets it to ../shared/datasets/mnist), else those tests are skipped. The variable is then
# removed, so that every other test sees the toolkit as a user without it would; tests pass
# MNIST_DIR with --data_dir. Dataset caches go to the session folder, never next to the files.
# (The folder is passed on to pytest-xdist's worker processes as EVOLEARN_TESTS_MNIST_DIR.)
_data_dir = os.environ.pop("EVOLEARN_DATA_DIR", "") or os.environ.get(
    "EVOLEARN_TESTS_MNIST_DIR", ""
)
os.environ["EVOLEARN_TESTS_MNIST_DIR"] = _data_dir
MNIST_DIR = Path(_data_dir).expanduser().resolve() if _data_dir else None
if MNIST_DIR is not None and not MNIST_DIR.is_dir():
    MNIST_DIR = None
NEEDS_MNIST = "set EVOLEARN_DATA_DIR to a folder with MNIST's four IDX files to run it"
os.environ["EVOLEARN_CACHE_DIR"] = str(SESSION_TMP / "cache")

# No test reaches the internet (see offline/sitecustomize.py): the guard is loaded here and, by
# PYTHONPATH, into every Python process a test starts; attempts are logged to NETWORK_LOG.
OFFLINE = Path(__file__).resolve().parent / "offline"
NETWORK_LOG = SESSION_TMP / "network-attempts.txt"
NETWORK_LOG.touch()
os.environ["EVOLEARN_TEST_NETWORK_LOG"] = str(NETWORK_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(OFFLINE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)
_spec = importlib.util.spec_from_file_location(
    "evolearn_tests_offline", OFFLINE / "sitecustomize.py"
)
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))


@pytest.fixture(autouse=True)
def no_internet():
    """Fail a test that tried to reach a host outside this machine, even if the code under test
    handled the refusal (as it handles an offline machine)."""
    yield
    attempts = NETWORK_LOG.read_text()
    if attempts:
        NETWORK_LOG.write_text("")
        pytest.fail(f"the test tried to reach the internet:\n{attempts}", pytrace=False)


def run_script(script: str, *args: str, timeout: float = 300, env: dict | None = None, cwd=REPO):
    """Run one of the experiment scripts as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def run_module(module: str, *args: str, timeout: float = 300):
    """Run ``python -m module args`` (one of the analysis tools) from the repository."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def start_script(script: str, args) -> subprocess.Popen:
    """Start one of the experiment scripts in the background (its output in pipes)."""
    return subprocess.Popen(
        [sys.executable, str(REPO / script), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_generation(out, generation, process, timeout=300, poll=0.05):
    """Wait until the run of ``process`` in ``out`` has logged ``generation``."""
    import time

    deadline = time.time() + timeout
    log = out / "log.txt"
    while time.time() < deadline:
        if log.exists() and f"Generation {generation}/" in log.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended early: {process.communicate()}")
        time.sleep(poll)
    raise AssertionError("timed out")


def kill_at_generation(script: str, args, out, generation: int) -> None:
    """Start a run of ``script`` into ``out`` and SIGKILL it once ``generation`` is logged."""
    import signal

    process = start_script(script, [*args, "--out_dir", str(out)])
    wait_for_generation(out, generation, process)
    process.send_signal(signal.SIGKILL)
    process.wait()


def comparable_scalars(out):
    """A run's tensorboard scalars without the wall-clock times."""
    return {k: v for k, v in read_scalars(out).items() if not k.startswith("times/")}


def forward_pass(compiled, x, weights, use_torch: bool = False):
    """Outputs of a compiled WANN (a network or a population) as a numpy array, from its numpy
    pass or its torch pass on the CPU (inputs promoted with float32 as numpy does)."""
    if not use_torch:
        return compiled.forward_numpy(x, weights)
    import numpy as np
    import torch

    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    w = np.asarray(weights, dtype=x.dtype)
    return compiled.forward_torch(torch.from_numpy(x), torch.from_numpy(w)).numpy()


def genome_info(path: Path) -> dict:
    """The ``info`` mapping a run stored with a network file (champion.json, ...)."""
    from evolearn.network_io import load_genome_info

    return load_genome_info(path)


def read_scalars(out_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalars of a run's tensorboard event files: tag -> [(step, value), ...]."""
    from evolearn.analysis.runs import read_scalars as read

    return read(out_dir / "tensorboard_summary")


def folder_contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``: relative path -> bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def made_once(tmp_path_factory, key: str, make) -> Path:
    """The folder that ``make(folder)`` fills, made once for the whole test session: by the
    first test process (of pytest-xdist's workers, which share the parent of their base
    temporary folders) that asks for ``key``; the others wait for it and read it. Every
    process checks that the folder still holds what was made (a test changed it otherwise)."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / "made-once" / hashlib.sha256(key.encode()).hexdigest()[:20]
    folder.parent.mkdir(exist_ok=True)
    done = folder.with_name(folder.name + ".done")
    with FileLock(str(folder) + ".lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a process that failed making it
            folder.mkdir()
            make(folder)
            done.write_text(_digest(folder))
    assert _digest(folder) == done.read_text(), f"a test changed the shared folder of {key!r}"
    return folder


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for name, data in folder_contents(folder).items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """``finished_run(script, *args)``: the folder of that run, ended well, made once per test
    session (:func:`made_once`) and shared by every test that asks for the same run (the
    uninterrupted runs that killed, resumed or clustered runs are compared with). Read it,
    never write to it: copy it to change it. A test that changed it fails the next test that
    asks for it."""
    runs: dict[tuple[str, ...], tuple[Path, dict[str, bytes]]] = {}

    def make(script: str, args: tuple[str, ...], folder: Path) -> None:
        result = run_script(script, *args, "--out_dir", str(folder / "run"))
        assert result.returncode == 0, result.stderr

    def get(script: str, *args: str) -> Path:
        key = (script, *args)
        if key not in runs:
            folder = made_once(
                tmp_path_factory,
                "finished\0" + "\0".join(key),
                functools.partial(make, script, args),
            )
            out = folder / "run"
            runs[key] = out, folder_contents(out)
        out, contents = runs[key]
        assert folder_contents(out) == contents, f"a test changed the shared run {key}"
        return out

    return get


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """Keep preprocessed-dataset caches of a test inside its own temporary folder."""
    path = tmp_path / "cache"
    monkeypatch.setenv("EVOLEARN_CACHE_DIR", str(path))
    return path


def assert_refused(result, message: str, out: Path) -> None:
    """A script refused bad input: exit code 2, a one-paragraph error naming ``message``, no
    traceback, and no output folder left behind."""
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not out.exists()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www; yields (root folder, base URL)."""
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
