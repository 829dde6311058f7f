import json

import numpy as np
import pytest
from conftest import genome_info

from evolearn.errors import UserError
from evolearn.genome import add_node, compact_layers, initial_genome
from evolearn.network_io import genome_to_dict, load_genome, save_genome


def test_wlnn_json_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    g = initial_genome(8, 3, 0.5, rng, with_weights=True)
    for _ in range(5):
        g = compact_layers(add_node(g, rng))
    path = tmp_path / "net.json"
    save_genome(g, path, info={"generation": 3, "reward": -0.25})
    assert load_genome(path) == g
    assert genome_info(path) == {"generation": 3, "reward": -0.25}
    # Saving the loaded network again gives the same bytes.
    save_genome(load_genome(path), tmp_path / "again.json", info={"generation": 3, "reward": -0.25})
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_wann_json_round_trip_keeps_activations(tmp_path):
    rng = np.random.default_rng(1)
    g = initial_genome(4, 2, 1.0, rng, with_activations=True)
    for _ in range(4):
        g = add_node(g, rng, activations=10)
    save_genome(g, tmp_path / "wann.json")
    d = json.loads((tmp_path / "wann.json").read_text())
    assert d["kind"] == "wann" and len(d["activation_names"]) == g.num_neurons
    assert load_genome(tmp_path / "wann.json") == g


def test_reads_a_network_file_of_the_thesis_code(tmp_path):
    thesis = {
        "in_size": 2,
        "out_size": 1,
        "num_neurons": 4,
        "p_initial_connection_enabled": 0.05,
        "p_add_connection": 0.8,
        "p_add_node": 0.2,
        "inherit_weights": False,
        "activation_name": "relu",
        "neurons_in_layer": [[0, 1], [3], [2]],
        "connections": [[0, 3], [3, 2], [1, 2]],
        "weights": [0.5, -0.1, 0.2],
    }
    (tmp_path / "thesis.json").write_text(json.dumps(thesis))
    g = load_genome(tmp_path / "thesis.json")
    assert g.layer.tolist() == [0, 0, 2, 1]
    assert g.connections.tolist() == [[0, 3], [3, 2], [1, 2]]
    np.testing.assert_allclose(g.weights, [0.5, -0.1, 0.2])
    d = genome_to_dict(g)
    for key in ("in_size", "out_size", "num_neurons", "neurons_in_layer", "connections"):
        assert d[key] == thesis[key]
    np.testing.assert_allclose(d["weights"], thesis["weights"], rtol=1e-7)


def test_a_damaged_network_file_gives_a_user_error(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="bad.json"):
        load_genome(tmp_path / "bad.json")
    (tmp_path / "cyclic.json").write_text(
        json.dumps(
            {
                "in_size": 1,
                "out_size": 1,
                "num_neurons": 2,
                "neurons_in_layer": [[0], [1]],
                "connections": [[1, 0]],
                "weights": [0.1],
            }
        )
    )
    with pytest.raises(UserError, match="lower to a higher"):
        load_genome(tmp_path / "cyclic.json")
    with pytest.raises(UserError, match="cannot read"):
        load_genome(tmp_path / "missing.json")
