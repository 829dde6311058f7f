import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist"


def run_script(script: str, *args: str, timeout: float = 300, env: dict | None = None):
    """Run one of the experiment scripts as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def read_scalars(out_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalars of a run's tensorboard event files: tag -> [(step, value), ...]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out_dir / "tensorboard_summary"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


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
