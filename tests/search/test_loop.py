"""What every evolution script keeps of every generation: population.csv.bz2 and networks/."""

import json

import pandas as pd
import pytest
from conftest import run_script

from evolearn.network_io import load_genome
from evolearn.testing import SMALL_RUNS

SCORES = {
    "run-wlnn-mnist.py": ["reward", "acc"],
    "run-wann-classification.py": ["mean_reward", "max_reward", "mean_acc", "acc_at_max_reward"],
    "run-wann-gym.py": ["mean_reward", "max_reward"],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCORES))
def test_every_network_is_in_the_table_and_saved_every_save_every(tmp_path, script):
    args = [a for a in SMALL_RUNS[script]]
    args[args.index("--num_generations") + 1] = "5"
    out = tmp_path / "run"
    result = run_script(script, *args, "--save_every", "2", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    size = int(args[args.index("--population_size") + 1])

    table = pd.read_csv(out / "population.csv.bz2")
    assert list(table.columns) == [
        "generation",
        "index",
        *SCORES[script],
        "connections",
        "neurons",
        "layers",
    ]
    assert len(table) == 5 * size
    assert table.groupby("generation")["index"].apply(list).to_dict() == {
        g: list(range(size)) for g in range(1, 6)
    }

    # generation 1, every 2nd and the last
    saved = sorted(p.name for p in (out / "networks").iterdir())
    assert saved == ["gen-00001", "gen-00002", "gen-00004", "gen-00005"]
    for folder in saved:
        generation = int(folder.removeprefix("gen-"))
        rows = table[table["generation"] == generation].set_index("index")
        files = sorted((out / "networks" / folder).iterdir())
        assert [f.name for f in files] == [f"net-{i:03d}.json" for i in range(size)]
        for index, path in enumerate(files):
            info = json.loads(path.read_text())["info"]
            assert info["generation"] == generation and info["index"] == index
            genome = load_genome(path)
            row = rows.loc[index]
            assert row["connections"] == genome.num_connections
            assert row["neurons"] == genome.num_neurons
            assert row["layers"] == genome.num_layers
            for key in SCORES[script]:  # the table keeps 5 significant digits of the file's
                assert row[key] == pytest.approx(info[key], rel=1e-4, abs=1e-9)

    # the champion is one of the networks the table lists (the WANN scripts score a candidate
    # again, with more trials or on the whole training set, before it becomes champion)
    info = json.loads((out / "champion.json").read_text())["info"]
    row = table[(table["generation"] == info["generation"]) & (table["index"] == info["index"])]
    assert row["connections"].item() == load_genome(out / "champion.json").num_connections
    if script == "run-wlnn-mnist.py":
        assert row["reward"].item() == pytest.approx(info["reward"], rel=1e-4)
