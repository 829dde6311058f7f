"""The whole-population WANN passes (evolearn.wann.population) against the per-network reference."""

import numpy as np
import pytest
import torch
from conftest import forward_pass

from evolearn.activations import ACTIVATION_NAMES
from evolearn.envs import make_env
from evolearn.experiment.workers import SharedArrays
from evolearn.genome import Genome, initial_genome, split_connection
from evolearn.testing import make_population
from evolearn.wann.classification import ClassifyTask, classify_chunk
from evolearn.wann.gym import EpisodeTask, episodes_chunk, has_fast_path, run_episodes
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork
from evolearn.wann.population import (
    WANNPopulation,
    evaluate_classification,
    network_groups,
    swingup_returns,
)

WEIGHTS = np.array([*TRAIN_WEIGHT_VALUES, 0.0, 0.3])


def silent(num_inputs, num_outputs):
    """A network without connections: every output is 0."""
    n = num_inputs + num_outputs
    layer = np.array([0] * num_inputs + [1] * num_outputs)
    return Genome(
        num_inputs, num_outputs, layer, np.zeros((0, 2), np.int64), None, np.zeros(n, int)
    )


def deep_chain(num_inputs, num_outputs, depth, seed):
    """A network with ``depth`` hidden layers: its first connection split again and again."""
    rng = np.random.default_rng(seed)
    g = initial_genome(num_inputs, num_outputs, 1.0, rng, with_activations=True)
    for _ in range(depth):
        g = split_connection(g, 0, rng, activations=10)  # a->n keeps index 0: deeper each time
    return g


def with_output_activations(genomes, seed):
    """The genomes with random output activations, each output its own."""
    rng = np.random.default_rng(seed)
    changed = []
    for g in genomes:
        acts = g.activations.copy()
        acts[g.num_inputs : g.num_inputs + g.num_outputs] = rng.integers(
            len(ACTIVATION_NAMES), size=g.num_outputs
        )
        changed.append(Genome(g.num_inputs, g.num_outputs, g.layer, g.connections, None, acts))
    return changed


def mixed_population(num_inputs, num_outputs, seed):
    """Networks of very different sizes and depths, some without connections, some with
    outputs of other activations than linear."""
    return [
        *make_population(6, num_inputs, num_outputs, 0.5, 30, seed),
        *with_output_activations(
            make_population(4, num_inputs, num_outputs, 0.5, 30, seed + 5), seed
        ),
        silent(num_inputs, num_outputs),
        *make_population(3, num_inputs, num_outputs, 0.0, 0, seed + 1),  # no connections either
        deep_chain(num_inputs, num_outputs, 25, seed),
        *make_population(4, num_inputs, num_outputs, 0.3, 120, seed + 2),
        *make_population(3, num_inputs, num_outputs, 1.0, 3, seed + 3),
    ]


def reference_outputs(genomes, x, weights):
    """[P, W, S, O] network by network; x shared [S, I] or [P, W, S, I]."""
    if x.ndim == 2:
        return np.stack([WANNNetwork(g).forward_numpy(x, weights) for g in genomes])
    return np.stack([WANNNetwork(g).forward_numpy(x[i], weights) for i, g in enumerate(genomes)])


def assert_close_to_scale(actual, desired, rtol):
    """Within ``rtol`` of the value, or of the largest output (cancellations)."""
    scale = max(1.0, float(np.abs(desired).max(initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


# --- forward passes ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("inputs", ["shared", "own"])
def test_population_pass_agrees_with_per_network_passes(seed, inputs):
    rng = np.random.default_rng(seed)
    num_inputs, num_outputs = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    genomes = mixed_population(num_inputs, num_outputs, 10 * seed)
    assert len({g.num_layers for g in genomes}) >= 4  # shallow and deep networks together
    population = WANNPopulation(genomes)
    shape = (9, num_inputs) if inputs == "shared" else (len(genomes), len(WEIGHTS), 9, num_inputs)
    x64 = rng.uniform(-1, 1, size=shape)
    reference = reference_outputs(genomes, x64, WEIGHTS)
    assert np.abs(reference).max() > 0  # not all silent

    out = population.forward_numpy(x64, WEIGHTS)
    assert out.shape == (len(genomes), len(WEIGHTS), 9, num_outputs) and out.dtype == np.float64
    np.testing.assert_allclose(out, reference, rtol=1e-9, atol=1e-9)
    out_torch = population.forward_torch(torch.from_numpy(x64), torch.from_numpy(WEIGHTS))
    np.testing.assert_allclose(out_torch.numpy(), reference, rtol=1e-9, atol=1e-9)

    # float32: 25 hidden layers deep, a 1-ulp difference (summation order, sin/cos) can grow by
    # |w| * pi per sine layer, as in the per-network tests of tests/wann/test_network.py.
    x32, w32 = x64.astype(np.float32), WEIGHTS.astype(np.float32)
    reference32 = reference_outputs(genomes, x32, w32)
    out32 = population.forward_numpy(x32, w32)
    assert out32.dtype == np.float32
    assert_close_to_scale(out32, reference32, rtol=1e-4)
    out32_torch = population.forward_torch(torch.from_numpy(x32), torch.from_numpy(w32))
    assert out32_torch.dtype == torch.float32
    assert_close_to_scale(out32_torch.numpy(), reference32, rtol=1e-4)


@pytest.mark.parametrize("use_torch", [False, True])
def test_silent_networks_output_zeros_and_rows_come_out_in_network_order(use_torch):
    genomes = [silent(3, 2), deep_chain(3, 2, 4, 0), silent(3, 2)]
    x = np.random.default_rng(0).uniform(-1, 1, size=(5, 3))
    out = forward_pass(WANNPopulation(genomes), x, [1.0, -2.0], use_torch=use_torch)
    assert np.all(out[0] == 0) and np.all(out[2] == 0)
    expected = WANNNetwork(genomes[1]).forward_numpy(x, [1.0, -2.0])
    np.testing.assert_allclose(out[1], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_population_pass_on_cuda_agrees_with_numpy():
    genomes = mixed_population(5, 3, 2)
    x = np.random.default_rng(3).uniform(-1, 1, size=(64, 5)).astype(np.float32)
    w = WEIGHTS.astype(np.float32)
    population = WANNPopulation(genomes)
    on_cuda = population.forward_torch(torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda())
    assert_close_to_scale(on_cuda.cpu().numpy(), population.forward_numpy(x, w), rtol=1e-4)
    y = np.random.default_rng(4).integers(0, 3, size=64)
    loss_cuda, acc_cuda = evaluate_classification(genomes, x, y, w, use_torch=True, device="cuda")
    loss, acc = evaluate_classification(genomes, x, y, w)
    np.testing.assert_allclose(loss_cuda, loss, rtol=1e-4)
    np.testing.assert_allclose(acc_cuda, acc, atol=2 / 64)


@pytest.mark.parametrize("use_torch", [False, True])
def test_a_networks_outputs_do_not_depend_on_the_rest_of_the_population(use_torch):
    genomes = mixed_population(4, 3, 7)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(20, 4)).astype(np.float32)
    w = WEIGHTS.astype(np.float32)

    def run(part):
        population = WANNPopulation(part)
        if use_torch:
            return population.forward_torch(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        return population.forward_numpy(x, w)

    whole = run(genomes)
    pieces = np.concatenate([run(genomes[:5]), run(genomes[5:6]), run(genomes[6:])])
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(run(genomes[::-1])[::-1], whole)


def test_population_rejects_mixed_sizes_and_wrong_input_shapes():
    with pytest.raises(ValueError, match="inputs"):
        WANNPopulation([silent(3, 2), silent(4, 2)])
    with pytest.raises(ValueError, match="at least one"):
        WANNPopulation([])
    population = WANNPopulation([silent(3, 2)] * 2)
    with pytest.raises(ValueError, match="shape"):
        population.forward_numpy(np.zeros((5, 4)), [1.0])
    with pytest.raises(ValueError, match="shape"):
        population.forward_numpy(np.zeros((3, 1, 5, 3)), [1.0])  # 3 networks, not 2


# --- classification -------------------------------------------------------------------------


def dataset(num_inputs, num_samples, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(num_samples, num_inputs)).astype(np.float32)
    return x, rng.integers(0, 10, size=num_samples)


@pytest.mark.parametrize("use_torch", [False, True])
def test_fast_classification_agrees_with_the_per_network_reference(use_torch):
    genomes = [*make_population(20, 32, 10, 0.1, 60, 3), silent(32, 10), deep_chain(32, 10, 12, 1)]
    x, y = dataset(32, 1300, 4)  # two sample passes, the second one short
    shared = SharedArrays({"x_train": x, "y_train": y})
    # The fast side straight from evaluate_classification: classify_chunk would fall back to
    # the reference if the fast path raised.
    fast_loss, fast_acc = evaluate_classification(
        genomes, x, y, TRAIN_WEIGHT_VALUES, use_torch=use_torch
    )
    reference = classify_chunk(
        shared,
        ClassifyTask(
            genomes,
            "train",
            None,
            TRAIN_WEIGHT_VALUES,
            use_torch=use_torch,
            device="cpu",
            fast=False,
        ),
    )
    via_chunk = classify_chunk(
        shared,
        ClassifyTask(
            genomes,
            "train",
            None,
            TRAIN_WEIGHT_VALUES,
            use_torch=use_torch,
            device="cpu",
            fast=True,
        ),
    )
    np.testing.assert_array_equal(np.array([loss for loss, _ in via_chunk]), fast_loss)
    ref_loss, ref_acc = (np.array(v) for v in zip(*reference, strict=True))
    assert fast_loss.shape == (len(genomes), len(TRAIN_WEIGHT_VALUES))
    np.testing.assert_allclose(fast_loss, ref_loss, rtol=1e-5)
    # An answer may flip only where two float32 logits differ in the last bits; 12 layers deep
    # (the last network) those bits grow (|w| * pi per sine layer), so more answers can flip.
    np.testing.assert_allclose(fast_acc[:-1], ref_acc[:-1], atol=1.5 / len(y))
    np.testing.assert_allclose(fast_acc[-1], ref_acc[-1], atol=5 / len(y))
    # The silent network: all logits 0, loss log(10), the answer is class 0 (first largest).
    np.testing.assert_allclose(fast_loss[-2], np.log(10), rtol=1e-6)
    np.testing.assert_allclose(fast_acc[-2], np.mean(y == 0))


def test_classification_in_chunks_equals_the_whole_population_bit_for_bit():
    genomes = mixed_population(16, 10, 5)
    x, y = dataset(16, 700, 6)
    shared = SharedArrays({"x_train": x, "y_train": y})
    indices = np.random.default_rng(2).integers(0, len(x), 500)

    def run(part):
        task = ClassifyTask(
            part, "train", indices, TRAIN_WEIGHT_VALUES, use_torch=False, device="cpu"
        )
        return classify_chunk(shared, task)

    whole = run(genomes)
    chunks = [r for part in (genomes[:3], genomes[3:4], genomes[4:]) for r in run(part)]
    for (loss, acc), (chunk_loss, chunk_acc) in zip(whole, chunks, strict=True):
        np.testing.assert_array_equal(chunk_loss, loss)
        np.testing.assert_array_equal(chunk_acc, acc)


def test_fast_classification_in_network_groups_equals_one_pass(monkeypatch):
    import evolearn.wann.population as wp

    genomes = make_population(12, 16, 10, 0.2, 40, 8)
    x, y = dataset(16, 300, 9)
    one_pass = evaluate_classification(genomes, x, y, TRAIN_WEIGHT_VALUES)
    monkeypatch.setattr(wp, "MAX_ACTIVITY_VALUES", 30 * len(TRAIN_WEIGHT_VALUES) * 300)
    assert len(network_groups(genomes, len(TRAIN_WEIGHT_VALUES) * 300, wp.MAX_ACTIVITY_VALUES)) > 3
    grouped = evaluate_classification(genomes, x, y, TRAIN_WEIGHT_VALUES)
    np.testing.assert_array_equal(grouped[0], one_pass[0])
    np.testing.assert_array_equal(grouped[1], one_pass[1])


def test_network_groups_stay_below_the_bound_and_cover_the_population():
    genomes = make_population(30, 8, 2, 0.5, 20, 0)
    sizes = np.array([g.num_neurons - g.num_inputs for g in genomes])
    groups = network_groups(genomes, 10, max_values=400)
    assert [i for r in groups for i in r] == list(range(30))
    for r in groups:
        assert sizes[list(r)].sum() * 10 <= 400 or len(r) == 1
    assert network_groups(genomes, 10, max_values=1) == [range(i, i + 1) for i in range(30)]


# --- CartPoleSwingUp --------------------------------------------------------------------------


def push_network():
    """Output = w * cos(theta): the cart is pushed off the track within about 100 steps."""
    layer = np.array([0, 0, 0, 0, 0, 1])
    return Genome(5, 1, layer, np.array([[2, 5]]), None, np.zeros(6, np.int64))


def episode_length(genome, weight, seed):
    env = make_env("CartPoleSwingUp")
    obs, _ = env.reset(seed=seed)
    compiled = WANNNetwork(genome)
    for step in range(1, 1001):
        action = compiled.forward_numpy(obs.astype(np.float64)[None], [weight])[0, 0]
        obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
        if terminated or truncated:
            return step
    raise AssertionError("the environment did not truncate at step 1000")


def gymnasium_returns(genomes, weights, seeds, bias_input=False):
    """[P, W, T] returns of the reference: each network's episodes in Gymnasium environments."""
    envs = [make_env("CartPoleSwingUp") for _ in range(len(weights) * len(seeds))]
    return np.stack(
        [
            run_episodes(
                WANNNetwork(g),
                envs,
                np.array(weights),
                list(seeds),
                take_argmax_action=False,
                use_torch=False,
                bias_input=bias_input,
            )
            for g in genomes
        ]
    )


def test_swingup_returns_equal_the_gymnasium_episodes():
    genomes = [
        push_network(),
        silent(5, 1),
        deep_chain(5, 1, 8, 3),
        *make_population(3, 5, 1, 0.5, 40, 11),
    ]
    weights, seeds = (-2.0, 0.5, 1.0), (17, 18)
    assert episode_length(genomes[0], -2.0, 17) < 200  # terminates early
    assert episode_length(genomes[1], -2.0, 17) == 1000  # truncated
    reference = gymnasium_returns(genomes, weights, seeds)
    # The same float32 observations and actions and the same physics: equal up to the order of
    # float64 sums in the network (the reference's BLAS), which a float32 action absorbs.
    for use_torch in (False, True):
        fast = swingup_returns(genomes, weights, seeds, use_torch=use_torch)
        assert fast.shape == (len(genomes), len(weights), len(seeds))
        np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-9)


def test_swingup_with_a_bias_neuron_equals_the_gymnasium_episodes():
    # 6 inputs: the bias first; tanh outputs (the WANN paper's swing-up conventions)
    genomes = with_output_activations(make_population(4, 6, 1, 0.5, 40, 21), 3)
    bias_push = Genome(  # only the bias feeds the output: a constant force w * 1
        6, 1, np.array([0] * 6 + [1]), np.array([[0, 6]]), None, np.zeros(7, np.int64)
    )
    genomes.append(bias_push)
    weights, seeds = (-2.0, 1.0), (5, 6)
    reference = gymnasium_returns(genomes, weights, seeds, bias_input=True)
    fast = swingup_returns(genomes, weights, seeds, bias_input=True)
    np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-9)
    # the bias alone: every step's action is the constant w, stepped here by hand
    for k, w in enumerate(weights):
        for t, seed in enumerate(seeds):
            env = make_env("CartPoleSwingUp")
            env.reset(seed=seed)
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, _ = env.step(np.array([w], np.float32))
                total, done = total + float(reward), terminated or truncated
            assert fast[-1, k, t] == pytest.approx(total, rel=1e-12)
    silent_returns = swingup_returns([silent(6, 1)], weights, seeds, bias_input=True)[0]
    assert not np.allclose(fast[-1], silent_returns)
    with pytest.raises(ValueError, match="need 6 inputs"):
        swingup_returns([silent(5, 1)], weights, seeds, bias_input=True)


def test_swingup_in_chunks_equals_the_whole_population_bit_for_bit():
    genomes = [push_network(), *make_population(5, 5, 1, 0.5, 60, 4)]
    seeds = (3, 4)

    def run(part):
        task = EpisodeTask(
            part, "CartPoleSwingUp", (-1.0, 2.0), seeds, take_argmax_action=False, use_torch=False
        )
        return episodes_chunk(SharedArrays({}), task)

    whole = run(genomes)
    chunks = run(genomes[:2]) + run(genomes[2:3]) + run(genomes[3:])
    for a, b in zip(whole, chunks, strict=True):
        np.testing.assert_array_equal(a, b)


def test_only_swingup_takes_the_fast_path_and_other_envs_keep_working():
    assert has_fast_path("CartPoleSwingUp", take_argmax_action=False) and has_fast_path(
        "CartPoleSwingUp-v0", take_argmax_action=False
    )
    assert not has_fast_path("CartPole-v1", take_argmax_action=True)
    assert not has_fast_path("CartPoleSwingUp", take_argmax_action=True)
    genomes = make_population(3, 4, 2, 0.5, 10, 0)
    task = EpisodeTask(
        genomes,
        "CartPole-v1",
        (-1.0, 1.0),
        (5,),
        take_argmax_action=True,
        use_torch=False,
        fast=True,
    )
    returns = np.array(episodes_chunk(SharedArrays({}), task))
    # Other environments run through Gymnasium: the returns of the episodes run here.
    for genome, got in zip(genomes, returns, strict=True):
        envs = [make_env("CartPole-v1") for _ in range(2)]
        expected = run_episodes(
            WANNNetwork(genome),
            envs,
            np.array((-1.0, 1.0)),
            [5],
            take_argmax_action=True,
            use_torch=False,
        )
        np.testing.assert_array_equal(got, expected.mean(axis=1))
    assert (returns >= 1).all()  # CartPole gives 1 a step


def test_a_networks_bipedal_returns_do_not_depend_on_the_networks_run_before_it():
    """BipedalWalker's Box2D world keeps state across resets: in reused environments a
    network's returns changed with the networks evaluated before it in the same process (so
    with the number of workers and the chunks). Every network gets fresh environments."""
    genomes = make_population(5, 24, 4, 0.5, 10, 2)
    task = lambda chunk: EpisodeTask(  # noqa: E731
        chunk, "BipedalWalker-v3", (-1.0, 0.5, 2.0), (7,),
        take_argmax_action=False, use_torch=False,
    )  # fmt: skip
    together = np.array(episodes_chunk(SharedArrays({}), task(genomes)))
    alone = np.array([episodes_chunk(SharedArrays({}), task([g]))[0] for g in genomes])
    backwards = np.array(episodes_chunk(SharedArrays({}), task(genomes[::-1])))[::-1]
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together, backwards)
    assert len(np.unique(together)) > 5  # episodes of their own, not all the same fall


# --- populations for benchmarks ---------------------------------------------------------------


def test_make_population_is_seeded_and_grows_with_the_mutations():
    small = make_population(4, 256, 10, 0.05, 20, 1)
    again = make_population(6, 256, 10, 0.05, 20, 1)
    assert small == again[:4]  # network i depends on (seed, i) only
    assert make_population(4, 256, 10, 0.05, 20, 2) != small
    grown = make_population(4, 256, 10, 0.05, 120, 1)
    assert all(g.activations is not None for g in grown)
    assert np.mean([g.num_hidden for g in grown]) > np.mean([g.num_hidden for g in small]) + 10
    assert max(g.num_layers for g in grown) > 3


def test_the_default_paths_are_numpy_and_keep_float64_inputs_in_float64():
    genomes = make_population(5, 8, 3, 0.5, 20, 4)
    rng = np.random.default_rng(5)
    x64 = rng.uniform(0, 1, size=(40, 8))
    y = rng.integers(0, 3, size=40)
    weights = (-1.0, 0.5)
    # Without use_torch: numpy, bit for bit (torch differs in the last bits).
    np.testing.assert_array_equal(
        forward_pass(WANNPopulation(genomes), x64, weights),
        forward_pass(WANNPopulation(genomes), x64, weights, use_torch=False),
    )
    default = evaluate_classification(genomes, x64.astype(np.float32), y, weights)
    numpy = evaluate_classification(genomes, x64.astype(np.float32), y, weights, use_torch=False)
    np.testing.assert_array_equal(default[0], numpy[0])
    # float64 inputs are computed in float64 on both paths (float32 would be ~1e-7 off).
    reference = reference_outputs(genomes, x64, weights)
    for use_torch in (False, True):
        out = forward_pass(WANNPopulation(genomes), x64, weights, use_torch=use_torch)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12)
        loss, _ = evaluate_classification(genomes, x64, y, weights, use_torch=use_torch)
        expected = np.array(
            [[classify_reference(g, x64, y, w) / len(y) for w in weights] for g in genomes]
        )
        np.testing.assert_allclose(loss, expected, rtol=1e-11)
    # The torch path runs without a device given (the CPU).
    loss, _ = evaluate_classification(genomes, x64, y, weights, use_torch=True)
    assert np.isfinite(loss).all()


def classify_reference(genome, x, y, weight):
    """Summed cross-entropy of one network at one weight value, in float64."""
    from evolearn.wann.network import reference_forward

    logits = reference_forward(genome, x, weight)
    logits = logits - logits.max(1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -log_softmax[np.arange(len(y)), y].sum()


def test_network_groups_by_hand():
    # Sizes (non-input neurons) 2, 3, 1, 4, 6 at 10 values a row, at most 50 values a group:
    # 20 + 30 = 50 fits (not above the bound); 50 + 10 does not; 10 + 40 = 50 fits; 60 alone.
    genomes = [
        Genome(
            1, 1, np.array([0] + [1] * n), np.zeros((0, 2), np.int64), None, np.zeros(n + 1, int)
        )
        for n in (2, 3, 1, 4, 6)
    ]
    assert network_groups(genomes, 10, max_values=50) == [range(0, 2), range(2, 4), range(4, 5)]


def test_swingup_needs_five_inputs_and_one_output():
    for num_inputs, num_outputs in ((4, 1), (5, 2)):
        with pytest.raises(ValueError, match="5 inputs and 1 output"):
            swingup_returns([silent(num_inputs, num_outputs)], (1.0,), (0,))


@pytest.mark.parametrize("use_torch", [False, True])
def test_swingup_episodes_that_all_end_early_give_their_returns(use_torch):
    # Every episode of the push network leaves the track long before step 1000: the loop stops
    # early and the returns are still those of the Gymnasium episodes.
    genome = push_network()
    weights, seeds = (-2.0, 2.0), (3, 4)
    assert max(episode_length(genome, w, s) for w in weights for s in seeds) < 500
    envs = [make_env("CartPoleSwingUp") for _ in range(4)]
    expected = run_episodes(
        WANNNetwork(genome),
        envs,
        np.array(weights),
        list(seeds),
        take_argmax_action=False,
        use_torch=False,
    )
    fast = swingup_returns([genome], weights, seeds, use_torch=use_torch)
    np.testing.assert_allclose(fast[0], expected, rtol=1e-9, atol=1e-9)
    if not use_torch:
        np.testing.assert_array_equal(swingup_returns([genome], weights, seeds), fast)
