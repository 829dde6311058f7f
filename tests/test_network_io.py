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


# --- the WANN release's .out files --------------------------------------------------------------


def write_out(path, matrix):
    path.write_text("\n".join(",".join(f"{v:.2e}" for v in row) for row in matrix) + "\n")
    return path


def hand_made_release_matrix():
    """File nodes: 0 bias, 1-2 inputs, 3-4 hidden, 5 the output.

    Connections 0->5 (entry -1.5), 1->3, 3->4 (0.47), 2->4, 4->5; 2->5 is NaN and 1->5 zero
    (no connections). Activations: 3 squared (id 11), 4 tanh (5), the rest linear (1).
    """
    m = np.zeros((6, 7))
    m[0, 5], m[1, 3], m[3, 4], m[2, 4], m[4, 5] = -1.5, 1.0, 0.47, 1.0, 1.0
    m[2, 5] = np.nan
    m[:, 6] = [1, 1, 1, 11, 5, 1]
    return m


def test_a_wann_release_file_by_hand(tmp_path):
    from evolearn.activations import activation_index
    from evolearn.network_io import load_wann_release
    from evolearn.wann.network import reference_forward, with_bias

    g = load_wann_release(write_out(tmp_path / "net.out", hand_made_release_matrix()), 2, 1)
    # genome: 0 bias, 1-2 inputs, 3 the output, 4-5 the hidden nodes 3 and 4 of the file
    assert (g.num_inputs, g.num_outputs, g.num_neurons) == (3, 1, 6)
    assert g.connections.tolist() == [[0, 3], [1, 4], [2, 5], [4, 5], [5, 3]]
    assert g.layer.tolist() == [0, 0, 0, 3, 1, 2]  # hidden 4 above its source 3: layer 2
    names = ("linear", "linear", "linear", "linear", "squared", "tanh")
    assert g.activations.tolist() == [activation_index(n) for n in names]
    # w = 0.5, inputs (2, 0.5): h3 = (0.5 * 2)^2 = 1; h4 = tanh(0.5 * (1 + 0.5)) = 0.63514895;
    # out = 0.5 * (bias 1 + h4) = 0.81757448 (the entries' own values play no part)
    out = reference_forward(g, with_bias(np.array([[2.0, 0.5]])), 0.5)
    np.testing.assert_allclose(out, [[0.81757448]], atol=1e-8)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m[:, :6], "N rows and N \\+ 1 columns"),
        (lambda m: m.__setitem__((3, 6), 12) or m, "activation id 12"),
        (lambda m: m.__setitem__((4, 3), 1.0) or m, "hidden node 4 feeds node 3"),
        (lambda m: m.__setitem__((3, 3), 1.0) or m, "hidden node 3 feeds node 3"),
        (lambda m: m.__setitem__((3, 1), 1.0) or m, "into the bias or an input"),
        (lambda m: m.__setitem__((5, 4), 1.0) or m, "leaves an output"),
    ],
)
def test_a_damaged_wann_release_file_gives_a_user_error(tmp_path, change, message):
    from evolearn.network_io import load_wann_release

    path = write_out(tmp_path / "net.out", change(hand_made_release_matrix()))
    with pytest.raises(UserError, match=message):
        load_wann_release(path, 2, 1)


def test_a_wann_release_file_read_for_too_many_inputs_and_outputs(tmp_path):
    from evolearn.network_io import load_wann_release

    with pytest.raises(UserError, match="cannot hold"):
        load_wann_release(write_out(tmp_path / "ok.out", hand_made_release_matrix()), 4, 2)


def test_the_activation_ids_of_the_bias_and_inputs_are_not_used(tmp_path):
    from evolearn.network_io import load_wann_release

    matrix = hand_made_release_matrix()
    matrix[:3, 6] = 0  # what some of the release's configurations write for inputs
    g = load_wann_release(write_out(tmp_path / "net.out", matrix), 2, 1)
    assert g == load_wann_release(write_out(tmp_path / "ok.out", hand_made_release_matrix()), 2, 1)


def test_thesis_files_keep_linear_outputs_whatever_they_list(tmp_path):
    from evolearn.activations import activation_index
    from evolearn.network_io import genome_from_dict

    d = {
        "in_size": 1,
        "out_size": 1,
        "num_neurons": 2,
        "neurons_in_layer": [[0], [1]],
        "connections": [[0, 1]],
        "activation_names": ["linear", "tanh"],
    }
    assert genome_from_dict(d).activations[1] == activation_index("linear")
    ours = genome_from_dict({**d, "format": "evolearn-network"})  # this toolkit's: as listed
    assert ours.activations[1] == activation_index("tanh")


@pytest.mark.parametrize(
    "release_id, name",
    # the WANN release's ids, as its code numbers them
    [(1, "linear"), (2, "step"), (3, "sine"), (4, "gaussian"), (5, "tanh"), (6, "sigmoid"),
     (7, "inverse"), (8, "abs"), (9, "relu"), (10, "cosine"), (11, "squared")],
)  # fmt: skip
def test_each_release_activation_id_by_hand(tmp_path, release_id, name):
    from evolearn.activations import BY_NAME, activation_index
    from evolearn.network_io import load_wann_release
    from evolearn.wann.network import reference_forward, with_bias

    m = np.zeros((4, 5))  # bias, one input, one hidden node, one output
    m[1, 2] = m[2, 3] = 1.0
    m[:, 4] = [1, 1, release_id, 1]
    g = load_wann_release(write_out(tmp_path / "net.out", m), 1, 1)
    assert g.activations[3] == activation_index(name)  # the hidden node, after the output
    out = reference_forward(g, with_bias(np.array([[0.3]])), 1.5)
    expected = 1.5 * BY_NAME[name].numpy(np.array(1.5 * 0.3))
    np.testing.assert_allclose(out, [[expected]])


def test_a_ragged_wann_release_file_names_the_line_that_is_wrong(tmp_path):
    from evolearn.network_io import load_wann_release

    path = write_out(tmp_path / "ragged.out", hand_made_release_matrix())
    lines = path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:5])  # the fourth row loses two of its 7 values
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as caught:
        load_wann_release(path, 2, 1)
    message = str(caught.value)
    assert message.startswith(f"{path} is not a WANN release network file: line 4 has 5 values")
    assert "expected 7" in message and "inhomogeneous" not in message


def test_a_wann_release_file_counts_its_lines_from_one_with_blank_lines(tmp_path):
    from evolearn.network_io import load_wann_release

    path = write_out(tmp_path / "net.out", hand_made_release_matrix())
    lines = path.read_text().splitlines()
    lines[1] = lines[1] + ",0"  # a value too many on the second row
    path.write_text("\n\n" + "\n".join(lines) + "\n")  # two blank lines first
    with pytest.raises(UserError, match="line 4 has 8 values, expected 7"):
        load_wann_release(path, 2, 1)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(",", ", x,", 1)  # the third row's second value
    lines[3] = lines[3][: lines[3].rindex(",")]  # the second row right again
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="line 5, value 2: 'x' is not a number"):
        load_wann_release(path, 2, 1)
    path.write_text("\n \n")
    with pytest.raises(UserError, match="holds no rows"):
        load_wann_release(path, 2, 1)
