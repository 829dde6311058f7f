"""population.csv.bz2: hand-made rows, the cut on resume, a member cut short by a kill."""

import bz2

import numpy as np
import pandas as pd
import pytest

from evolearn.experiment.reporting import (
    PopulationTable,
    ResultsTable,
    current_column_name,
    read_streams,
)
from evolearn.genome import Genome

WORST = -1e30


def genome(num_connections: int) -> Genome:
    """2 inputs, 1 output, a chain of hidden neurons: ``num_connections`` - 1 of them, so that
    connections, neurons and layers all differ from each other."""
    hidden = num_connections - 1
    layer = np.array([0, 0, hidden + 1] + list(range(1, hidden + 1)))
    chain = [0] + list(range(3, 3 + hidden)) + [2]
    connections = np.array(list(zip(chain[:-1], chain[1:], strict=True)))
    return Genome(2, 1, layer, connections, np.ones(len(connections), np.float32), None)


def test_rows_read_back_with_pandas_in_one_call(tmp_path):
    path = tmp_path / "population.csv.bz2"
    table = PopulationTable(path)
    genomes = [genome(3), genome(5)]
    assert [g.num_connections for g in genomes] == [3, 5]
    table.append(
        1,
        {"reward": np.array([-0.123456789, 2.0]), "acc": np.array([0.5, 0.987654321])},
        genomes,
        failed_below=WORST,
    )
    table.append(
        2,
        {"reward": np.array([WORST, -1.5]), "acc": np.array([WORST, 0.25])},
        genomes[::-1],
        failed_below=WORST,
    )
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        "generation",
        "index",
        "reward",
        "acc",
        "connections",
        "neurons",
        "layers",
    ]
    assert frame["generation"].tolist() == [1, 1, 2, 2]
    assert frame["index"].tolist() == [0, 1, 0, 1]
    # five significant digits, not five decimals
    assert frame["reward"].tolist()[:2] == [-0.12346, 2.0]
    assert frame["acc"].tolist()[1] == 0.98765
    # a failed network (the worst score) is NaN, not -1e30
    assert np.isnan(frame["reward"][2]) and np.isnan(frame["acc"][2])
    assert frame["reward"][3] == -1.5
    assert frame["connections"].tolist() == [3, 5, 5, 3]
    assert frame["neurons"].tolist() == [5, 7, 7, 5]
    assert frame["layers"].tolist() == [4, 6, 6, 4]


def test_each_generation_is_one_bzip2_stream_and_the_same_run_writes_the_same_bytes(tmp_path):
    def write(path):
        table = PopulationTable(path)
        for generation in (1, 2, 3):
            scores = {"mean_reward": np.array([generation * 0.5])}
            table.append(generation, scores, [genome(2)], failed_below=WORST)
        return path.read_bytes()

    first, second = write(tmp_path / "a.csv.bz2"), write(tmp_path / "b.csv.bz2")
    assert first == second
    assert first.count(b"BZh91AY&SY") == 4  # the header's stream and one per generation
    assert bz2.decompress(first).decode().splitlines()[1:] == [
        "1,0,0.5,2,4,3",
        "2,0,1,2,4,3",
        "3,0,1.5,2,4,3",
    ]


def test_resume_cuts_back_to_the_checkpoint_and_appends(tmp_path):
    path = tmp_path / "population.csv.bz2"
    table = PopulationTable(path)
    for generation in range(1, 6):
        table.append(
            generation, {"reward": np.array([float(generation)])}, [genome(2)], failed_below=WORST
        )
    resumed = PopulationTable(path, append=True)
    resumed.keep_until(3)
    resumed.append(4, {"reward": np.array([40.0])}, [genome(2)], failed_below=WORST)
    frame = pd.read_csv(path)
    assert frame["generation"].tolist() == [1, 2, 3, 4]
    assert frame["reward"].tolist() == [1.0, 2.0, 3.0, 40.0]


@pytest.mark.parametrize("cut", [1, 10, 25])
def test_a_stream_cut_short_by_a_kill_is_dropped_on_resume(tmp_path, cut):
    path = tmp_path / "population.csv.bz2"
    table = PopulationTable(path)
    for generation in (1, 2):
        table.append(
            generation, {"reward": np.array([float(generation)])}, [genome(2)], failed_below=WORST
        )
    whole = path.read_bytes()
    path.write_bytes(whole[:-cut])  # the kill came while generation 2 was being appended
    assert read_streams(path).splitlines() == [
        "generation,index,reward,connections,neurons,layers",
        "1,0,1,2,4,3",
    ]
    PopulationTable(path, append=True).keep_until(1)
    assert pd.read_csv(path)["generation"].tolist() == [1]


def test_a_resumed_table_gets_no_second_header(tmp_path):
    path = tmp_path / "population.csv.bz2"
    PopulationTable(path).append(1, {"reward": np.array([1.0])}, [genome(2)], failed_below=WORST)
    PopulationTable(path, append=True).append(
        2, {"reward": np.array([2.0])}, [genome(2)], failed_below=WORST
    )
    assert pd.read_csv(path)["generation"].tolist() == [1, 2]


def test_a_damaged_stream_before_the_end_costs_only_its_generation_and_is_logged(tmp_path, caplog):
    from evolearn.experiment.reporting import split_streams

    path = tmp_path / "population.csv.bz2"
    table = PopulationTable(path)
    for generation in (1, 2, 3):
        table.append(generation, {"reward": np.array([float(generation)])}, [genome(2)],
                     failed_below=WORST)  # fmt: skip
    streams, _ = split_streams(path.read_bytes())
    header, first, second, third = (raw for raw, _ in streams)
    broken = second[:20] + bytes(b ^ 0xFF for b in second[20:40]) + second[40:]
    path.write_bytes(header + first + broken + third)
    with caplog.at_level("WARNING"):
        PopulationTable(path, append=True).keep_until(3)
    assert pd.read_csv(path)["generation"].tolist() == [1, 3]  # not cut at the damage
    assert "1 damaged stream(s)" in caplog.text and "generations 1, 3 of 1..3" in caplog.text


def test_a_table_without_a_complete_stream_starts_again_with_its_header(tmp_path):
    path = tmp_path / "population.csv.bz2"
    path.write_bytes(b"BZh9")  # a kill while the header was being written
    table = PopulationTable(path, append=True)
    table.keep_until(0)
    table.append(1, {"reward": np.array([1.0])}, [genome(2)], failed_below=WORST)
    assert pd.read_csv(path)["generation"].tolist() == [1]


def test_renamed_scores_get_their_current_name_wherever_they_stand_in_a_column_name():
    # max_acc was the accuracy at the weight value of the best reward, not the best accuracy
    for old, new in [
        ("max_acc", "acc_at_max_reward"),
        ("best_max_acc", "best_acc_at_max_reward"),
        ("champion_test10_max_acc", "champion_test10_acc_at_max_reward"),
    ]:
        assert current_column_name(old) == new
    for same in ("max_reward", "champion_test_acc", "mean_acc", "acc", "seconds"):
        assert current_column_name(same) == same


def test_an_old_population_table_resumes_under_the_current_names(tmp_path):
    # The table of a run of an older version: its header says max_acc.
    path = tmp_path / "population.csv.bz2"
    old = PopulationTable(path)
    for generation in (1, 2, 3):
        scores = {"mean_reward": np.array([-1.0 * generation]), "max_acc": np.array([0.5])}
        old.append(generation, scores, [genome(2)], failed_below=WORST)
    resumed = PopulationTable(path, append=True)
    resumed.keep_until(2)
    scores = {"mean_reward": np.array([-4.0]), "acc_at_max_reward": np.array([0.75])}
    resumed.append(3, scores, [genome(2)], failed_below=WORST)
    frame = pd.read_csv(path)
    assert list(frame.columns[:4]) == ["generation", "index", "mean_reward", "acc_at_max_reward"]
    assert frame["acc_at_max_reward"].tolist() == [0.5, 0.5, 0.75]
    assert frame["generation"].tolist() == [1, 2, 3]


def test_an_old_results_table_resumes_under_the_current_names(tmp_path):
    path = tmp_path / "results_summary.csv"
    old = ResultsTable(path, ["generation", "best_max_acc", "seconds"])
    for generation in (1, 2, 3):
        old.append({"generation": generation, "best_max_acc": 0.5, "seconds": 0.25})
    columns = ["generation", "best_acc_at_max_reward", "seconds"]
    resumed = ResultsTable(path, columns, append=True)
    resumed.keep_until(2)
    resumed.append({"generation": 3, "best_acc_at_max_reward": 0.75, "seconds": 0.5})
    frame = pd.read_csv(path)
    assert list(frame.columns) == columns
    assert frame["best_acc_at_max_reward"].tolist() == [0.5, 0.5, 0.75]
