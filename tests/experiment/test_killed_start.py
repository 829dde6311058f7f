"""A run SIGKILLed at any moment of its start leaves a folder that the same command, or
--resume, continues (to the run that was never interrupted); nothing of the user's is removed.

The moments are hit exactly: a driver process runs the real script with one step of the start
replaced by a SIGKILL of the process itself (after or before that step's own work). A watcher
also kills the real script the instant its folder appears, as a user's watcher did.
"""

import csv
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO, run_script

from evolearn.testing import SMALL_RUNS

SCRIPT = "run-wann-classification.py"
ARGS = SMALL_RUNS[SCRIPT]

#: The moments of a start, by name: the code the driver runs in the process before the script.
MOMENTS = {
    "folder made": """
        folder_lock.FolderLock.acquire = classmethod(lambda cls, folder: die())
    """,
    "record begun": """
        add = outputs.OutputRecord.add
        def add_then_die(self, name):
            add(self, name)
            if str(name) == "params.yaml.tmp":
                die()
        outputs.OutputRecord.add = add_then_die
    """,
    "params.yaml.tmp begun": """
        run_module.yaml.safe_dump = lambda *args, **kwargs: die()
    """,
    "params.yaml written": """
        add = outputs.OutputRecord.add
        def die_at_the_log(self, name):
            if str(name) == "log.txt":
                die()
            add(self, name)
        outputs.OutputRecord.add = die_at_the_log
    """,
    "event file made": """
        import tensorboardX
        init = tensorboardX.SummaryWriter.__init__
        def init_then_die(self, *args, **kwargs):
            init(self, *args, **kwargs)
            die()
        tensorboardX.SummaryWriter.__init__ = init_then_die
    """,
    "log begun": """
        header = run_module.Run._log_header
        def header_then_die(self):
            header(self)
            die()
        run_module.Run._log_header = header_then_die
    """,
    "first generation done": """
        generations.save_checkpoint = lambda *args: die()
    """,
    "first checkpoint half written": """
        def half(f, **arrays):
            f.write(b"PK")
            f.flush()
            die()
        checkpoint.np.savez = half
    """,
}

DRIVER = """
import os, runpy, signal, sys

def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)

from evolearn.experiment import checkpoint, folder_lock, outputs
from evolearn.experiment import run as run_module
import evolearn.search.generations as generations
{moment}
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def kill_at(moment: str, out, tmp_path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(moment=textwrap.dedent(MOMENTS[moment])))
    process = subprocess.run(
        [sys.executable, str(driver), str(REPO / SCRIPT), *ARGS, "--out_dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert not (out / "checkpoint.npz").exists()


def results(out):
    with (out / "results_summary.csv").open(newline="") as f:
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    return (out / "champion.json").read_bytes(), rows


@pytest.fixture
def uninterrupted(finished_run):
    return results(finished_run(SCRIPT, *ARGS))


def assert_continued(result, out, uninterrupted):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert results(out) == uninterrupted
    assert (out / "log.txt").read_text().startswith(SCRIPT)


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_start_killed_at_any_moment_is_continued_by_the_same_command_or_resume(
    tmp_path, moment, uninterrupted
):
    out = tmp_path / "run"
    kill_at(moment, out, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, symlinks=True)
    again = run_script(SCRIPT, *ARGS, "--out_dir", str(out))
    assert_continued(again, out, uninterrupted)
    resumed = run_script(SCRIPT, *ARGS, "--resume", str(copy))
    assert_continued(resumed, copy, uninterrupted)


def test_a_run_killed_as_its_folder_appears_is_continued_by_the_same_command(
    tmp_path, uninterrupted
):
    """The user's watcher: SIGKILL the moment the folder exists (before any checkpoint)."""
    out = tmp_path / "run"
    for attempt in range(2):
        shutil.rmtree(out, ignore_errors=True)
        process = subprocess.Popen(
            [sys.executable, str(REPO / SCRIPT), *ARGS, "--out_dir", str(out)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not os.path.exists(out) and process.poll() is None:
            pass
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        copy = tmp_path / f"copy{attempt}"
        shutil.copytree(out, copy, symlinks=True)
        assert_continued(run_script(SCRIPT, *ARGS, "--out_dir", str(out)), out, uninterrupted)
        resumed = run_script(SCRIPT, *ARGS, "--resume", str(copy))
        assert_continued(resumed, copy, uninterrupted)


def test_a_killed_start_with_a_file_of_the_users_is_not_taken_over_and_keeps_it(tmp_path):
    out = tmp_path / "run"
    kill_at("params.yaml written", out, tmp_path)
    (out / "notes.txt").write_text("mine")
    refused = run_script(SCRIPT, *ARGS, "--out_dir", str(out))
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "params.yaml").is_file()


def test_a_killed_start_is_not_taken_over_by_a_run_with_other_parameters(tmp_path):
    out = tmp_path / "run"
    kill_at("first generation done", out, tmp_path)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    refused = run_script(SCRIPT, *ARGS, "--seed", "4", "--out_dir", str(out))
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
