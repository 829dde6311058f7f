"""Degrees and architecture statistics, by hand."""

import numpy as np
import pytest

from evolearn.analysis.architecture import architecture_stats, degrees
from evolearn.genome import Genome


def hand_made() -> Genome:
    """2 inputs (0, 1), 1 output (2), hidden 3 (layer 1) and 4 (layer 2).

    Connections: 0->3, 1->3, 0->4, 3->4, 4->2, 3->2, 1->2.
    in-degree:  output 2: 3; hidden 3: 2; hidden 4: 2
    out-degree: input 0: 2; input 1: 2; hidden 3: 2; hidden 4: 1
    degree of hidden: 3: 2 + 2 = 4; 4: 2 + 1 = 3
    """
    layer = np.array([0, 0, 3, 1, 2])
    connections = np.array([[0, 3], [1, 3], [0, 4], [3, 4], [4, 2], [3, 2], [1, 2]])
    return Genome(2, 1, layer, connections, np.ones(7, np.float32), None)


def test_degrees_by_hand():
    into, out_of, degree = degrees(hand_made())
    assert into.tolist() == [3, 2, 2]  # output 2, hidden 3, hidden 4
    assert out_of.tolist() == [2, 2, 2, 1]  # inputs 0, 1, hidden 3, 4
    assert degree.tolist() == [4, 3]


def test_unconnected_neurons_count_with_degree_zero():
    g = hand_made()
    g = Genome(
        3,
        1,
        np.array([0, 0, 0, 3, 1, 2]),
        g.connections + (g.connections >= 2),
        None,
        np.zeros(6, np.int64),
    )  # fmt: skip  (input 2 added, unconnected)
    into, out_of, degree = degrees(g)
    assert out_of.tolist() == [2, 2, 0, 2, 1]
    assert into.tolist() == [3, 2, 2] and degree.tolist() == [4, 3]


def test_population_statistics_pool_neurons_and_average_networks():
    small = hand_made()
    # a second network: 2 inputs, 1 output, no hidden neuron, 0->2 and 1->2
    direct = Genome(2, 1, np.array([0, 0, 1]), np.array([[0, 2], [1, 2]]), np.ones(2, np.float32))
    stats = architecture_stats([small, direct])
    assert stats["connections_mean"] == 4.5 and stats["connections_std"] == 2.5
    assert stats["neurons_mean"] == 4 and stats["layers_mean"] == 3
    # in-degrees pooled: [3, 2, 2] and [2]: mean 9/4, not the mean of the networks' means
    assert stats["in_degree_mean"] == pytest.approx(9 / 4)
    assert stats["in_degree_std"] == pytest.approx(np.std([3, 2, 2, 2]))
    assert stats["out_degree_mean"] == pytest.approx(np.mean([2, 2, 2, 1, 1, 1]))
    assert stats["degree_mean"] == pytest.approx(3.5)  # only the first has hidden neurons
