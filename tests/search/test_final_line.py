"""The last line of a run ("Done. Champion from generation ...") is the same whether the run went
through or was resumed from its checkpoint; and a run's params.yaml says how to continue it
with paths relative to the working directory the run started in, never the machine's own."""

import shlex

import pytest
from conftest import REPO, run_script

from evolearn.testing import SMALL_RUNS

SCRIPTS = ["run-wlnn-mnist.py", "run-wann-classification.py", "run-wann-gym.py"]


def final_line(log: str) -> str:
    """The run's last "Done." line (a resumed run's log holds its first part's too)."""
    return [line for line in log.splitlines() if line.startswith("Done.")][-1]


def with_generations(args: list[str], generations: int) -> list[str]:
    args = list(args)
    args[args.index("--num_generations") + 1] = str(generations)
    return args


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_final_line_of_a_resumed_run_is_the_uninterrupted_runs(tmp_path, script, finished_run):
    args = SMALL_RUNS[script]
    generations = int(args[args.index("--num_generations") + 1])
    full = finished_run(script, *args)
    expected = final_line((full / "log.txt").read_text())

    # The same run stopped a generation early, started from tmp_path with its folder given in
    # full, and continued with the command its params.yaml gives, from the same folder.
    cut = tmp_path / "cut"
    first = with_generations([str(REPO / args[0]), *args[1:]], generations - 1)
    result = run_script(script, *first, "--out_dir", str(cut), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = (cut / "params.yaml").read_text()
    assert str(tmp_path) not in header
    (command,) = [line for line in header.splitlines() if line.startswith("#   python ")]
    words = shlex.split(command.removeprefix("#"))
    assert words == ["python", script, "cut/params.yaml", "--resume", "cut"]
    resumed = run_script(script, *words[2:], "--num_generations", str(generations), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    log = (cut / "log.txt").read_text()
    assert "Resumed" in log and log.rstrip().endswith(expected)
    assert expected in resumed.stdout + resumed.stderr
