"""A run folder written before ``max_acc`` was renamed ``acc_at_max_reward`` (it was the accuracy
at the weight value of the best reward, never the best accuracy) still reads and plots."""

import bz2

import pytest
from conftest import run_script

from evolearn.analysis import figures
from evolearn.analysis.runs import RunFolder
from evolearn.experiment.reporting import read_streams
from evolearn.testing import SMALL_RUNS

SCRIPT = "run-wann-classification.py"


def as_an_old_version_wrote_it(folder):
    """The folder's tables with the old name of the score, as a run of an older version has."""
    summary = folder / "results_summary.csv"
    summary.write_text(summary.read_text().replace("acc_at_max_reward", "max_acc"))
    population = folder / "population.csv.bz2"
    text = read_streams(population).replace("acc_at_max_reward", "max_acc")
    population.write_bytes(bz2.compress(text.encode("ascii")))


@pytest.mark.slow
def test_an_old_classification_run_folder_reads_under_the_new_names_and_plots(tmp_path):
    new, old = tmp_path / "new", tmp_path / "old"
    for out in (new, old):
        args = [*SMALL_RUNS[SCRIPT], "--test_every", "2", "--out_dir", str(out)]
        result = run_script(SCRIPT, *args)
        assert result.returncode == 0, result.stderr
    as_an_old_version_wrote_it(old)
    assert "champion_max_acc" in (old / "results_summary.csv").read_text()

    now, then = RunFolder.open(new), RunFolder.open(old)
    assert "champion_acc_at_max_reward" in now.summary and "acc_at_max_reward" in now.population
    assert list(then.summary.columns) == list(now.summary.columns)
    assert list(then.population.columns) == list(now.population.columns)
    assert then.population.equals(now.population)
    assert then.summary.drop(columns="seconds").equals(now.summary.drop(columns="seconds"))

    for run in (now, then):
        (axes,) = figures.wann_evolution(run).axes
        lines = {line.get_label(): line for line in axes.get_lines()}
        at_best = lines["champion: accuracy at its best weight"].get_ydata().tolist()
        assert at_best == now.summary["champion_acc_at_max_reward"].tolist()
        assert "champion test: accuracy at its best weight" in lines
