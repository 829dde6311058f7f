import numpy as np
import pytest

from evolearn.genome import (
    Genome,
    add_connection,
    add_node,
    change_activation,
    check_genome,
    compact_layers,
    initial_genome,
)


def make(num_inputs, num_outputs, layer, connections, weights=True):
    connections = np.array(connections, dtype=np.int64).reshape(-1, 2)
    w = np.arange(1, len(connections) + 1, dtype=np.float32) / 10 if weights else None
    return Genome(num_inputs, num_outputs, np.array(layer, dtype=np.int64), connections, w)


def test_initial_genome_has_no_hidden_neurons_and_input_output_connections_only():
    g = initial_genome(5, 3, 1.0, np.random.default_rng(0), with_weights=True)
    check_genome(g)
    assert g.num_layers == 2 and g.num_hidden == 0
    assert g.num_connections == 15
    assert np.all(g.layer[g.connections[:, 0]] == 0) and np.all(g.layer[g.connections[:, 1]] == 1)
    assert abs(g.weights.std() - 0.1) < 0.05


def test_initial_genome_enables_connections_with_the_given_probability():
    g = initial_genome(100, 10, 0.25, np.random.default_rng(1))
    assert 200 < g.num_connections < 300
    assert initial_genome(4, 2, 0.0, np.random.default_rng(0)).num_connections == 0


def test_complexity_is_at_least_one():
    g = initial_genome(3, 2, 0.0, np.random.default_rng(0))
    assert g.complexity == 1


def test_add_node_between_adjacent_layers_inserts_a_new_layer():
    # 2 inputs (0, 1), 1 output (2); single connection 0->2.
    g = make(2, 1, [0, 0, 1], [[0, 2]])
    h = add_node(g, np.random.default_rng(0))
    check_genome(h)
    assert h.layer.tolist() == [0, 0, 2, 1]
    assert h.connections.tolist() == [[0, 3], [3, 2]]
    assert h.weights[0] == pytest.approx(0.1)  # a->n keeps the old weight
    assert g.num_neurons == 3  # the parent is untouched


def test_add_node_across_several_layers_uses_the_layer_just_above_the_source():
    # 0 -> 3 (hidden, layer 1) -> 4 (hidden, layer 2) -> 2 (output, layer 3); and 1 -> 2 directly.
    g = make(2, 1, [0, 0, 3, 1, 2], [[0, 3], [3, 4], [4, 2], [1, 2]])
    rng = np.random.default_rng(0)
    while True:  # draw until the long connection 1->2 is the one split
        h = add_node(g, rng)
        if h.connections[3].tolist() == [1, 5]:
            break
    check_genome(h)
    assert h.layer[5] == 1 and h.num_layers == 4


def test_add_node_without_connections_changes_nothing():
    g = make(2, 1, [0, 0, 1], [])
    assert add_node(g, np.random.default_rng(0)) is g


def test_add_connection_never_duplicates_and_stays_feed_forward():
    rng = np.random.default_rng(3)
    g = initial_genome(4, 2, 0.5, rng, with_weights=True)
    for _ in range(40):
        before = add_node(g, rng)
        g = add_connection(before, rng)
        check_genome(g)
        # One new connection, not there before, from a lower layer to a higher one.
        assert g.num_connections == before.num_connections + 1
        new = tuple(g.connections[-1])
        assert new not in set(map(tuple, before.connections.tolist()))
        assert g.layer[new[0]] < g.layer[new[1]]
        np.testing.assert_array_equal(g.connections[:-1], before.connections)


def test_add_connection_gives_up_on_a_full_network():
    g = initial_genome(3, 2, 1.0, np.random.default_rng(0), with_weights=True)
    assert add_connection(g, np.random.default_rng(0)) is g


def test_add_only_hidden_connections_targets_hidden_neurons_from_below_the_last_hidden_layer():
    rng = np.random.default_rng(5)
    g = initial_genome(6, 3, 0.6, rng, with_weights=True)
    assert add_connection(g, rng, only_hidden=True) is g  # no hidden layer yet
    for _ in range(6):
        g = compact_layers(add_node(g, rng))
    for _ in range(30):
        before = g.num_connections
        g = add_connection(g, rng, only_hidden=True)
        check_genome(g)
        if g.num_connections > before:
            a, b = g.connections[-1]
            top = g.num_layers - 1
            assert g.layer[a] <= top - 2
            assert 1 <= g.layer[b] <= top - 1


def test_change_activation_picks_a_different_activation_of_a_hidden_neuron():
    g = make(1, 1, [0, 2, 1], [[0, 2], [2, 1]], weights=False)
    g = Genome(g.num_inputs, g.num_outputs, g.layer, g.connections, None, np.zeros(3, np.int64))
    rng = np.random.default_rng(0)
    for _ in range(20):
        h = change_activation(g, rng, num_activations=10)
        assert h.activations[:2].tolist() == [0, 0]
        assert h.activations[2] != g.activations[2]


def test_compaction_moves_neurons_without_input_from_directly_below_and_drops_empty_layers():
    # Inputs 0,1; output 2 (layer 4). Hidden 3 (layer 1), 4 (layer 2), 5 (layer 3).
    # 5 only gets input from 3 (layer 1), so it can move to layer 2; 4 gets input from 0 only,
    # so it moves to layer 1; then 5 (input from 3, layer 1) stays at 2... and layer 3 is empty.
    g = make(2, 1, [0, 0, 4, 1, 2, 3], [[0, 3], [0, 4], [3, 5], [5, 2], [4, 2]])
    h = compact_layers(g)
    check_genome(h)
    assert h.layer.tolist() == [0, 0, 3, 1, 1, 2]
    assert h.connections.tolist() == g.connections.tolist()


def test_compaction_keeps_a_neuron_fed_from_directly_below():
    g = make(1, 1, [0, 3, 1, 2], [[0, 2], [2, 3], [3, 1]])
    assert compact_layers(g).layer.tolist() == [0, 3, 1, 2]


def test_check_genome_rejects_invalid_networks():
    with pytest.raises(ValueError, match="lower to a higher"):
        check_genome(make(1, 1, [0, 2, 1], [[2, 0]]))
    with pytest.raises(ValueError, match="twice"):
        check_genome(make(1, 1, [0, 1], [[0, 1], [0, 1]]))
    with pytest.raises(ValueError, match="empty layer"):
        check_genome(make(1, 1, [0, 3, 1], [[0, 2], [2, 1]]))


def test_genome_equality_compares_every_array():
    base = Genome(
        2,
        1,
        np.array([0, 0, 2, 1]),
        np.array([[0, 3], [3, 2]]),
        np.array([0.5, 1.0], dtype=np.float32),
        np.array([0, 0, 0, 3]),
    )
    same = Genome(
        2,
        1,
        base.layer.copy(),
        base.connections.copy(),
        base.weights.copy(),
        base.activations.copy(),
    )
    assert base == same
    others = [
        Genome(2, 1, np.array([0, 0, 3, 1]), base.connections, base.weights, base.activations),
        Genome(2, 1, base.layer, np.array([[1, 3], [3, 2]]), base.weights, base.activations),
        Genome(
            2, 1, base.layer, base.connections, np.array([0.5, 2.0], np.float32), base.activations
        ),
        Genome(2, 1, base.layer, base.connections, None, base.activations),
        Genome(2, 1, base.layer, base.connections, base.weights, np.array([0, 0, 0, 4])),
        Genome(2, 1, base.layer, base.connections, base.weights, None),
        Genome(3, 0, base.layer, base.connections, base.weights, base.activations),
    ]
    for other in others:
        assert base != other and other != base
    # None only equals None; arrays of another shape are different even if they broadcast.
    no_weights = Genome(2, 1, base.layer, base.connections, None, None)
    assert no_weights == Genome(2, 1, base.layer, base.connections, None, None)
    single = Genome(1, 1, np.array([0, 1]), np.array([[0, 1]]), np.array([1.0], np.float32))
    double = Genome(1, 1, np.array([0, 1]), np.array([[0, 1]]), np.array([[1.0]], np.float32))
    assert single != double
