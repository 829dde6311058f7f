"""run-harlow-baldwin.py as a user runs it: its files, what a child inherits in each mode,
the same run on any number of workers, resume, the champion as PyTorch's state dict, and bad
input."""

import json

import numpy as np
import pytest
from conftest import (
    assert_refused,
    comparable_scalars,
    kill_at_generation,
    read_scalars,
    run_script,
)

from evolearn import streams
from evolearn.experiment.checkpoint import read_checkpoint
from evolearn.harlow import genetics
from evolearn.harlow.agent import (
    HYPERPARAMETERS,
    INITIAL_HYPERPARAMETERS,
    PARAMETER_NAMES,
    Lifetime,
    actor_critic,
    flatten,
    initial_parameters,
    unflatten,
)
from evolearn.harlow.search import MAX_BASE_SEED, LifetimeTask, lifetimes

SCRIPT = "run-harlow-baldwin.py"
PARAMS = "params/harlow/baldwin.yaml"
# population 6 (top 3, 2 parents, 2 children); 2 problems of 3 steps of 2 trials, scored on 4
SIZES = {
    "population_size": 6, "tournament_size": 3, "num_parents": 2, "num_children": 2,
    "num_tasks": 2, "num_gradient_steps": 3, "num_episode_trials": 2,
    "num_evaluation_trials": 4, "hidden_size": 3,
}  # fmt: skip
TINY = [PARAMS, *(x for k, v in SIZES.items() for x in (f"--{k}", str(v)))]
TINY += ["--num_generations", "3"]
LIFETIME = Lifetime(3, 2, 4)


def champion_arrays(out):
    with np.load(out / "champion.npz", allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("harlow") / "run"
    result = run_script(SCRIPT, *TINY, "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_the_champion_is_pytorchs_state_dict_and_its_four_hyperparameters(tiny_run):
    out, result = tiny_run
    arrays = champion_arrays(out)
    module = actor_critic(3)
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    assert list(state) == list(PARAMETER_NAMES)
    for name in PARAMETER_NAMES:
        assert arrays[name].shape == state[name].shape, name
    # the tutorial's module takes the file as it is, and holds exactly its numbers
    loaded = actor_critic(3, {name: arrays[name] for name in PARAMETER_NAMES})
    for name, tensor in loaded.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), arrays[name])
    assert list(arrays["hyperparameter_names"]) == list(HYPERPARAMETERS)
    assert arrays["hyperparameters"].shape == (4,)
    info = json.loads(str(arrays["info"]))
    assert info["inheritance"] == "baldwinian"
    assert "score" in info and "generation" in info
    assert "saved as champion.npz" in result.stdout


def test_the_run_logs_the_population_the_hyperparameters_and_each_trials_accuracy(tiny_run):
    out, _ = tiny_run
    scalars = read_scalars(out)
    for tag in ("population/mean_score", "hyperparameters/learning_rate"):
        assert [s for s, _ in scalars[tag]] == [0, 1, 2, 3], tag
    assert [s for s, _ in scalars["best/score"]] == [1, 2, 3]
    trials = sorted(t for t in scalars if t.startswith("trial_accuracy/"))
    assert trials == [f"trial_accuracy/trial_{t:02d}" for t in (1, 2, 3, 4)]
    for tag in trials:
        assert all(0 <= v <= 1 for _, v in scalars[tag])
    # generation 0: all newborns carry the tutorial's hyperparameters
    for name, initial in zip(HYPERPARAMETERS, INITIAL_HYPERPARAMETERS, strict=True):
        assert scalars[f"hyperparameters/{name}"][0][1] == pytest.approx(initial, rel=1e-6)
    # a score is a sum of 2 problems of 4 trials of +1 / -1
    for _, value in scalars["best/score"]:
        assert value == int(value) and -8 <= value <= 8
    log = (out / "log.txt").read_text()
    assert "Generation 0: mean population score" in log


def newborn(i: int) -> np.ndarray:
    """Newborn i of generation 0 (seed 0), flat."""
    hidden = SIZES["hidden_size"]
    return flatten(initial_parameters(hidden, streams.stream(0, 0, streams.INIT, i)))


def expected_population(mode: str, generations: int) -> genetics.Population:
    """The population the run should hold, rebuilt from the pure layers and the documented
    random streams (seed 0): the newborns, scored; then each generation's children."""
    lamarckian = mode == "lamarckian"
    n, hidden = SIZES["population_size"], SIZES["hidden_size"]
    mutation = genetics.Mutation()

    def scored(params, hyper, generation):
        seeds = streams.episode_seeds(0, generation, 0, SIZES["num_tasks"], MAX_BASE_SEED)
        task = LifetimeTask(
            params, hyper, range(len(hyper)), seeds, (0, generation), LIFETIME, hidden, lamarckian
        )
        result = lifetimes(task)
        inherited = np.stack([s.learned for s in result]) if lamarckian else params
        return unflatten(inherited, hidden), np.array([s.score for s in result])

    newborns = np.stack([newborn(i) for i in range(n)])
    hyper = np.tile(np.array(INITIAL_HYPERPARAMETERS), (n, 1))
    params, scores = scored(newborns, hyper, 0)
    population = genetics.Population(params, hyper, scores)
    for generation in range(1, generations + 1):
        rng = streams.stream(0, generation, streams.REPRODUCE)
        chosen = genetics.parents(population, SIZES["tournament_size"], SIZES["num_parents"], rng)
        made = genetics.children(population, chosen, SIZES["num_children"], mutation, rng)
        params = np.stack([flatten(p) for p, _ in made])
        child_hyper = np.stack([h for _, h in made])
        inherited, scores = scored(params, child_hyper, generation)
        cull = streams.stream(0, generation, streams.CULL)
        population = genetics.replace(population, inherited, child_hyper, scores, cull)
    return population


@pytest.mark.parametrize("mode", ["baldwinian", "lamarckian"])
def test_a_child_inherits_the_initial_weights_or_in_lamarckian_mode_the_learned_ones(
    tmp_path, mode
):
    out = tmp_path / "run"
    args = [*TINY, "--num_generations", "2", "--inheritance", mode, "--out_dir", str(out)]
    result = run_script(SCRIPT, *args)
    assert result.returncode == 0, result.stderr
    arrays = read_checkpoint(out / "checkpoint.npz")["strategy"]["arrays"]
    expected = expected_population(mode, 2)
    np.testing.assert_array_equal(arrays["members"], flatten(expected.params))
    np.testing.assert_array_equal(arrays["hyper"], expected.hyper)
    np.testing.assert_array_equal(arrays["scores"], expected.scores)
    newborns = [newborn(i) for i in range(SIZES["population_size"])]
    # after two generations 2 to 4 of the 6 members are newborns: in Baldwinian mode they
    # still hold their initial weights, in Lamarckian mode none does
    kept = sum(any(np.array_equal(m, b) for b in newborns) for m in arrays["members"])
    assert (2 <= kept <= 4) if mode == "baldwinian" else kept == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [["--num_workers", "2"], ["--scheduler", "local:2"]])
def test_the_same_seed_gives_the_same_run_on_any_number_of_workers(tmp_path, tiny_run, workers):
    out = tmp_path / "run"
    result = run_script(SCRIPT, *TINY, *workers, "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    alone, _ = tiny_run
    for name, array in champion_arrays(alone).items():
        np.testing.assert_array_equal(champion_arrays(out)[name], array, err_msg=name)
    assert comparable_scalars(out) == comparable_scalars(alone)
    assert (out / "results_summary.csv").read_text().split("seconds")[0] == (
        alone / "results_summary.csv"
    ).read_text().split("seconds")[0]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["baldwinian", "lamarckian"])
def test_a_killed_run_resumes_to_the_uninterrupted_run(tmp_path, finished_run, mode):
    args = [*TINY, "--num_generations", "12", "--inheritance", mode]
    full = finished_run(SCRIPT, *args)
    cut = tmp_path / "cut"
    kill_at_generation(SCRIPT, [*args, "--print_every", "1", "--checkpoint_every", "1"], cut, 5)
    resumed = run_script(SCRIPT, str(cut / "params.yaml"), "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    for name, array in champion_arrays(full).items():
        np.testing.assert_array_equal(champion_arrays(cut)[name], array, err_msg=name)
    assert comparable_scalars(cut) == comparable_scalars(full)
    state, whole = read_checkpoint(cut / "checkpoint.npz"), read_checkpoint(full / "checkpoint.npz")
    assert state["generation"] == 12
    for key in ("members", "hyper", "scores"):
        np.testing.assert_array_equal(
            state["strategy"]["arrays"][key], whole["strategy"]["arrays"][key]
        )


def test_the_courses_option_names_are_accepted(tmp_path):
    out = tmp_path / "run"
    args = [*TINY, "--num_generations", "1", "--parents_size", "3"]
    result = run_script(
        SCRIPT, *args, "--new_generation_new_individuals", "1", "--out_dir", str(out)
    )
    assert result.returncode == 0, result.stderr
    saved = (out / "params.yaml").read_text()
    assert "num_parents: 3" in saved and "num_children: 1" in saved


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden_size", "0"], "hidden_size must be"),
        (["--num_tasks", "0"], "num_tasks must be"),
        (["--num_episode_trials", "0"], "num_episode_trials must be"),
        (["--num_evaluation_trials", "-1"], "num_evaluation_trials must be"),
        (["--num_gradient_steps", "-1"], "num_gradient_steps must be"),
        (["--population_size", "0"], "population_size must be"),
        (["--num_parents", "0"], "num_parents must be"),
        (["--tournament_size", "60"], "tournament_size (60) is larger than population_size (50)"),
        (["--num_parents", "60"], "num_parents (60) is larger than population_size (50)"),
        (["--num_children", "50"], "num_children (50) must be below population_size (50)"),
        (["--discount_factor_range", "0.99,0.6"], "discount_factor_range must be two numbers"),
        (["--entropy_cost_range", "0.01,0.01"], "entropy_cost_range must be two numbers"),
        (["--learning_rate_range", "0.001"], "learning_rate_range must be two numbers"),
        (["--inheritance", "darwinian"], "inheritance must be one of: baldwinian, lamarckian"),
    ],
)
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_script(SCRIPT, PARAMS, *args, "--out_dir", str(out))
    assert_refused(result, message, out)
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_run_folder_and_tags_are_those_docs_outputs_names(tiny_run):
    import csv
    import re

    from test_docs_claims import names, table_row

    out, _ = tiny_run
    _, files, columns = table_row(SCRIPT, 3)
    files = re.sub(r"\([^)]*\)", "", files)  # what a file holds, in brackets
    assert sorted(names(files)) == sorted(p.name for p in out.iterdir())
    with (out / "results_summary.csv").open(newline="") as f:
        assert next(csv.reader(f)) == names(re.sub(r"\([^)]*\)", "", columns))
    claimed = set(names(table_row(SCRIPT, 2)[1]))
    written = set(read_scalars(out))
    assert claimed - {"population/score", "trial_accuracy/trial_NN"} <= written
    assert {t for t in written if not t.startswith(("trial_accuracy/", "failures/"))} <= claimed
