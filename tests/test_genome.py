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
    split_connection,
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


def test_kind_tells_weight_agnostic_from_weight_learning_networks():
    rng = np.random.default_rng(0)
    assert initial_genome(3, 2, 0.5, rng, with_activations=True).kind == "wann"
    assert initial_genome(3, 2, 0.5, rng, with_weights=True).kind == "wlnn"


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
        h = change_activation(g, rng, activations=10)
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


# --- edge cases found by mutation testing (benchmarks/mutation.py) -------------------------


def layered(num_hidden_layers: int, weights: bool = True) -> Genome:
    """Inputs 0, 1; outputs 2, 3; two hidden neurons per hidden layer; a chain from input 0
    through the first hidden neuron of every layer to output 2."""
    n = num_hidden_layers
    hidden_layers = [l for l in range(1, n + 1) for _ in range(2)]
    layer = np.array([0, 0, n + 1, n + 1, *hidden_layers])
    chain = [0] + [4 + 2 * i for i in range(n)] + [2]
    connections = np.array([[a, b] for a, b in zip(chain[:-1], chain[1:], strict=True)])
    w = np.full(len(connections), 0.5, np.float32) if weights else None
    return Genome(2, 2, layer, connections, w)


def new_connections(genome, only_hidden, draws=300, seed=0):
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(draws):
        child = add_connection(genome, rng, only_hidden=only_hidden)
        if child.num_connections > genome.num_connections:
            found.append(tuple(child.connections[-1]))
    return found


def test_add_connection_reaches_every_allowed_source_and_target_layer():
    g = layered(3)  # layers: inputs 0, hidden 1, 2, 3, output 4
    layers = lambda pairs: {(int(g.layer[a]), int(g.layer[b])) for a, b in pairs}  # noqa: E731
    # Any source below the output layer, any target above it.
    everywhere = layers(new_connections(g, only_hidden=False))
    assert {a for a, _ in everywhere} == {0, 1, 2, 3} and {b for _, b in everywhere} == {1, 2, 3, 4}
    assert all(a < b for a, b in everywhere)
    # only_hidden (WLNN): sources up to the second-to-last hidden layer, targets hidden only.
    hidden = layers(new_connections(g, only_hidden=True))
    assert {a for a, _ in hidden} == {0, 1, 2} and {b for _, b in hidden} == {1, 2, 3}
    assert all(a < b for a, b in hidden)


def test_add_connection_on_the_smallest_networks():
    # One hidden layer: only_hidden can still connect an input to a hidden neuron.
    one = layered(1)
    assert set(new_connections(one, only_hidden=True)) == {(0, 5), (1, 4), (1, 5)}
    # One input and no hidden layer: the single source still gets a connection.
    lone = Genome(1, 2, np.array([0, 1, 1]), np.array([[0, 1]]), np.array([0.5], np.float32))
    assert set(new_connections(lone, only_hidden=False)) == {(0, 2)}
    assert new_connections(lone, only_hidden=True) == []  # no hidden layer to connect into


def test_a_new_connection_gets_a_fresh_float32_weight_and_keeps_the_others():
    g = layered(2)
    child = add_connection(g, np.random.default_rng(3))
    assert child.num_connections == g.num_connections + 1
    assert child.weights.dtype == np.float32 and child.weights.shape == (child.num_connections,)
    np.testing.assert_array_equal(child.weights[:-1], g.weights)
    assert child.weights[-1] != 0.5 and np.isfinite(child.weights[-1])
    split = split_connection(g, 0, np.random.default_rng(3))
    assert split.weights.dtype == np.float32 and split.weights.shape == (split.num_connections,)
    wann = add_connection(layered(2, weights=False), np.random.default_rng(3))
    assert wann.weights is None


def test_change_activation_reaches_every_other_activation():
    g = initial_genome(2, 1, 1.0, np.random.default_rng(0), with_activations=True)
    g = add_node(g, np.random.default_rng(1), activations=10)
    hidden = g.num_neurons - 1
    current = int(g.activations[hidden])
    rng = np.random.default_rng(2)
    seen = {int(change_activation(g, rng, activations=10).activations[hidden]) for _ in range(400)}
    assert seen == set(range(10)) - {current}


def test_initial_connections_are_listed_input_major():
    g = initial_genome(3, 2, 1.0, np.random.default_rng(0))
    assert g.connections.tolist() == [[0, 3], [0, 4], [1, 3], [1, 4], [2, 3], [2, 4]]


def test_with_weights_replaces_the_weights_as_float32():
    g = layered(1)
    new = g.with_weights(np.array([1.5, -2.0], dtype=np.float64))
    assert new.weights.dtype == np.float32 and new.weights.tolist() == [1.5, -2.0]
    assert g.weights.tolist() == [0.5, 0.5]  # the original is untouched


INVALID = [
    ("layer must list every neuron", dict(layer=np.array([0, 0]))),
    ("layer must list every neuron", dict(layer=np.array([[0, 0, 1]]))),
    ("inputs must be in layer 0", dict(layer=np.array([0, 1, 2, 1]))),
    ("outputs must all be in the last layer", dict(layer=np.array([0, 0, 1, 2, 1]), outputs=2)),
    ("outputs must all be in the last layer", dict(layer=np.array([0, 0, 0, 0]), c=[])),
    ("strictly between", dict(layer=np.array([0, 0, 1, 1]), c=[[0, 2]])),
    ("strictly between", dict(layer=np.array([0, 0, 2, 3]), c=[[0, 2]])),
    ("shape [num_connections, 2]", dict(c=[[0, 3, 2]])),
    ("shape [num_connections, 2]", dict(c=[0, 3])),
    ("does not exist", dict(c=[[0, 4]])),
    ("does not exist", dict(c=[[-1, 3]])),
    ("lower to a higher layer", dict(c=[[3, 3]])),
    ("lower to a higher layer", dict(c=[[0, 1]])),
    ("appears twice", dict(c=[[0, 3], [0, 3]])),
]


@pytest.mark.parametrize("message, change", INVALID)
def test_check_genome_rejects_each_kind_of_invalid_network(message, change):
    # The valid network: inputs 0, 1; output 2; hidden 3 in layer 1.
    layer = change.get("layer", np.array([0, 0, 2, 1]))
    c = np.array(change.get("c", [[0, 3], [3, 2]]), dtype=np.int64)
    if c.size == 0:
        c = c.reshape(0, 2)
    check_genome(Genome(2, 1, np.array([0, 0, 2, 1]), np.array([[0, 3], [3, 2]])))
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_genome(Genome(2, change.get("outputs", 1), layer, c))


def test_mutations_draw_only_the_allowed_activations():
    from evolearn.genome import allowed_activations

    allowed = (2, 5, 9)
    rng = np.random.default_rng(0)
    g = initial_genome(3, 2, 1.0, rng, with_activations=True)
    for _ in range(30):
        g = add_node(g, rng, activations=allowed)
    hidden = g.activations[g.num_inputs + g.num_outputs :]
    assert set(hidden.tolist()) == set(allowed)  # all three drawn, nothing else
    changed = [
        change_activation(g, np.random.default_rng(s), activations=allowed) for s in range(200)
    ]
    seen = set()
    for h in changed:
        (neuron,) = np.flatnonzero(h.activations != g.activations)
        assert h.activations[neuron] in allowed and h.activations[neuron] != g.activations[neuron]
        seen.add(int(h.activations[neuron]))
    assert seen == set(allowed)
    # a count n is the indices 0 .. n-1, drawn exactly as before the allowed sets existed
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert add_node(g, rng_a, activations=10) == add_node(g, rng_b, activations=tuple(range(10)))
    assert allowed_activations(3) == (0, 1, 2)
    with pytest.raises(ValueError):
        change_activation(g, rng, activations=(4,))
