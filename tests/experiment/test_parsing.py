"""The parameter layer: YAML file, then command line; typing, validation and error messages."""

from __future__ import annotations

import contextlib
import io
import pickle
import re
import sys
import types
from functools import partial
from pathlib import Path

import pytest
import yaml

from evolearn.errors import ParamError
from evolearn.experiment.checks import (
    check_elite_and_cull,
    check_mutation_probabilities_sum,
    check_tournament_fits,
)
from evolearn.experiment.options import GROUPS, OPTIONS
from evolearn.experiment.parsing import ScriptSpec, coerce_value, parse_params

# Every option of the thesis's README with its group.
SEED_OPTIONS = {
    "evolution options": [
        "cull_ratio",
        "elite_ratio",
        "num_generations",
        "population_size",
        "p_add_connection",
        "p_add_node",
        "p_change_activation",
        "tournament_size",
        "inherit_weights",
        "num_mutations_per_generation",
        "p_complexity_objective",
    ],
    "evaluation options": ["batch_size", "batch_size_eval", "evaluation_period", "num_trials"],
    "training options": ["learning_rule", "lr", "num_epochs", "optimizer", "train_only_outputs"],
    "architecture options": ["num_inputs", "num_outputs", "p_initial_connection_enabled"],
    "task and dataset options": ["dataset", "env_name"],
    "computational options": ["num_workers", "take_argmax_action", "use_cuda", "use_torch"],
    "miscellaneous options": ["out_dir", "overwrite_output"],
}


@pytest.fixture(autouse=True)
def fake_registries(monkeypatch):
    """Small stand-ins for the registries of evolearn.wlnn.learning and evolearn.data."""
    learning = types.ModuleType("evolearn.wlnn.learning")
    learning.LEARNING_RULES = {"backprop": None, "hebbian": None, "feedback_alignment": None}
    learning.OPTIMIZERS = {"sgd": None, "adam": None, "adadelta": None}
    learning.EVALUATION_PERIODS = {
        name: None
        for name in (
            "integral",
            "last_batch",
            "last_ten_batches",
            "first_ten_batches",
            "last_epoch",
        )
    }
    data = types.ModuleType("evolearn.data")
    data.DATASETS = {"digits": None, "mnist": None}
    monkeypatch.setitem(sys.modules, "evolearn.wlnn.learning", learning)
    monkeypatch.setitem(sys.modules, "evolearn.data", data)


@pytest.fixture
def spec():
    return ScriptSpec(
        name="run-test.py",
        description="A test script.",
        options=(
            "cull_ratio",
            "elite_ratio",
            "population_size",
            "tournament_size",
            "p_add_connection",
            "p_add_node",
            "inherit_weights",
            "batch_size",
            "evaluation_period",
            "learning_rule",
            "lr",
            "optimizer",
            "train_only_outputs",
            "dataset",
            "data_dir",
            "use_cuda",
            "out_dir",
            "overwrite_output",
            "seed",
        ),
        defaults={"p_add_node": 0.5, "p_add_connection": 0.5, "population_size": 20},
        checks=(
            partial(check_mutation_probabilities_sum, names=("p_add_connection", "p_add_node")),
            check_tournament_fits,
            check_elite_and_cull,
        ),
    )


@pytest.fixture
def write_yaml(tmp_path):
    def write(text: str, name: str = "params.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def error_of(spec, argv) -> str:
    with pytest.raises(ParamError) as info:
        parse_params(spec, argv)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# the option registry


def test_registry_holds_every_seed_option_in_its_seed_group():
    for group, names in SEED_OPTIONS.items():
        for name in names:
            assert OPTIONS[name].group == group, name
    assert OPTIONS["seed"].group == "miscellaneous options"
    assert OPTIONS["data_dir"].group == "task and dataset options"
    assert OPTIONS["test_every"].group == "evaluation options"
    assert set(GROUPS) == set(SEED_OPTIONS)


def test_every_default_passes_its_own_validation():
    for option in OPTIONS.values():
        assert coerce_value(option, option.default, "defaults") == option.default


def test_choices_read_the_real_registries_lazily(monkeypatch):
    monkeypatch.delitem(sys.modules, "evolearn.wlnn.learning")
    monkeypatch.delitem(sys.modules, "evolearn.data")
    learning = pytest.importorskip("evolearn.wlnn.learning")
    data = pytest.importorskip("evolearn.data")
    assert OPTIONS["dataset"].choice_names() == tuple(data.DATASETS)
    assert OPTIONS["learning_rule"].choice_names() == tuple(learning.LEARNING_RULES)
    assert OPTIONS["optimizer"].choice_names() == tuple(learning.OPTIMIZERS)
    assert OPTIONS["evaluation_period"].choice_names() == tuple(learning.EVALUATION_PERIODS)
    assert set(learning.EVALUATION_PERIODS) == {
        "integral",
        "last_batch",
        "last_ten_batches",
        "first_ten_batches",
        "last_epoch",
    }


def test_spec_with_an_unknown_option_name_is_refused():
    with pytest.raises(ValueError, match="populaton_size"):
        ScriptSpec("x.py", "", ("populaton_size",))


# --------------------------------------------------------------------------------------------
# merging and typing


def test_command_line_overrides_yaml_which_overrides_script_defaults(spec, write_yaml):
    path = write_yaml("lr: 0.5\nbatch_size: 32\n")
    params = parse_params(spec, [path, "--lr", "0.25"])
    assert params.lr == 0.25  # command line over YAML
    assert params.batch_size == 32  # YAML over default
    assert params.population_size == 20  # script default over option default
    assert params.optimizer == OPTIONS["optimizer"].default
    assert params.params_file == path
    assert params.script == "run-test.py"


def test_yaml_exponent_without_dot_is_read_as_a_float(spec, write_yaml):
    # PyYAML 1.1 reads 1e-2 as the string "1e-2"
    assert yaml.safe_load("lr: 1e-2")["lr"] == "1e-2"
    params = parse_params(spec, [write_yaml("lr: 1e-2\n")])
    assert params.lr == pytest.approx(0.01)
    assert isinstance(params.lr, float)


@pytest.mark.parametrize(
    "text, expected",
    [("batch_size: 64", 64), ("batch_size: 64.0", 64), ("batch_size: 1e3", 1000)],
)
def test_int_option_accepts_integral_yaml_values(spec, write_yaml, text, expected):
    value = parse_params(spec, [write_yaml(text)]).batch_size
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("text", ["batch_size: 2.5", "batch_size: true", "batch_size: abc"])
def test_int_option_refuses_fractions_bools_and_words(spec, write_yaml, text):
    message = error_of(spec, [write_yaml(text)])
    assert message.startswith("batch_size must be an integer >= 1, got ")
    assert "params.yaml" in message


def test_float_option_accepts_yaml_int(spec, write_yaml):
    params = parse_params(spec, [write_yaml("lr: 1")])
    assert params.lr == 1.0
    assert type(params.lr) is float


@pytest.mark.parametrize("word", ["yes", "true", "t", "y", "1", "YES", "True"])
def test_true_spellings_on_command_line_and_in_yaml(spec, write_yaml, word):
    path = write_yaml("{}")
    assert parse_params(spec, [path, "--use_cuda", word]).use_cuda is True
    assert parse_params(spec, [write_yaml(f"use_cuda: {word}")]).use_cuda is True


@pytest.mark.parametrize("word", ["no", "false", "f", "n", "0", "NO", "False"])
def test_false_spellings_on_command_line_and_in_yaml(spec, write_yaml, word):
    path = write_yaml("use_cuda: true\ninherit_weights: true")
    assert parse_params(spec, [path, "--use_cuda", word]).use_cuda is False
    assert parse_params(spec, [write_yaml(f"inherit_weights: {word}")]).inherit_weights is False


def test_flags_take_no_value_on_the_command_line_and_a_bool_in_yaml(spec, write_yaml):
    path = write_yaml("{}")
    assert parse_params(spec, [path]).train_only_outputs is False
    assert parse_params(spec, [path, "--train_only_outputs"]).train_only_outputs is True
    assert parse_params(spec, [write_yaml("train_only_outputs: yes")]).train_only_outputs is True
    message = error_of(spec, [path, "--overwrite_output", "yes"])
    assert "'yes'" in message


def test_string_option_refuses_a_number(spec, write_yaml):
    message = error_of(spec, [write_yaml("optimizer: 3")])
    assert "optimizer must be one of: sgd, adam, adadelta, got 3" in message


def test_out_dir_defaults_to_a_timestamped_folder(spec, write_yaml):
    params = parse_params(spec, [write_yaml("out_dir: null")])
    assert re.fullmatch(r"out/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", Path(params.out_dir).as_posix())
    given = parse_params(spec, [write_yaml("{}"), "--out_dir", "elsewhere"])
    assert given.out_dir == "elsewhere"


def test_data_dir_not_given_stays_unset_and_mnist_resolves_it(spec, write_yaml, monkeypatch):
    # Not resolved when parsing: a digits run has no data folder to record, and an MNIST run
    # finds it ($EVOLEARN_DATA_DIR, else ~/.cache/evolearn/mnist: tests/test_data.py) when it
    # loads the data.
    monkeypatch.setenv("EVOLEARN_DATA_DIR", "/somewhere")
    assert parse_params(spec, [write_yaml("{}")]).data_dir is None
    assert parse_params(spec, [write_yaml("data_dir: /data")]).data_dir == "/data"


def test_known_keys_of_other_scripts_are_ignored_and_reported(spec, write_yaml):
    params = parse_params(spec, [write_yaml("env_name: CartPole-v1\nnum_trials: 3\nlr: 0.1")])
    assert params.ignored == ["env_name", "num_trials"]
    assert "env_name" not in params
    with pytest.raises(AttributeError):
        params.env_name  # noqa: B018


def test_empty_yaml_file_means_no_parameters(spec, write_yaml):
    params = parse_params(spec, [write_yaml("")])
    assert params.lr == OPTIONS["lr"].default


# --------------------------------------------------------------------------------------------
# Params


def test_params_are_immutable_and_dump_in_registry_order(spec, write_yaml):
    params = parse_params(spec, [write_yaml("{}"), "--lr", "0.1"])
    with pytest.raises(AttributeError):
        params.lr = 1.0
    as_dict = params.to_dict()
    assert list(as_dict) == [name for name in OPTIONS if name in spec.options]
    assert yaml.safe_load(yaml.safe_dump(as_dict, sort_keys=False)) == as_dict
    assert params["lr"] == params.lr == 0.1


def test_params_survive_pickling_for_worker_processes(spec, write_yaml):
    params = parse_params(spec, [write_yaml("lr: 0.3\nenv_name: x")])
    copy = pickle.loads(pickle.dumps(params))
    assert copy.to_dict() == params.to_dict()
    assert (copy.ignored, copy.script, copy.params_file) == (
        params.ignored,
        params.script,
        params.params_file,
    )


# --------------------------------------------------------------------------------------------
# --help


def test_help_shows_the_seed_groups_and_help_texts_of_the_script_options(spec):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
        parse_params(spec, ["--help"])
    assert info.value.code == 0
    text = " ".join(out.getvalue().split())  # undo the line wrapping
    for group in GROUPS:
        if group != "architecture options":  # the test script uses none of them
            assert f"{group}:" in text
    assert "architecture options:" not in text
    assert "Fraction of worst networks to leave out of the breeding pool" in text
    assert "Learning rate" in text
    assert (
        "If this option is selected, only the weights to the output units will be learned." in text
    )
    assert '"last_epoch" the values averaged in the last epoch only.' in text
    assert "A yaml file with parameters (see folder params for examples)" in text
    assert "--learning_rule {backprop,hebbian,feedback_alignment}" in text
    assert "--env_name" not in text  # not an option of this script
    assert "A test script." in text


# --------------------------------------------------------------------------------------------
# bad input


def test_missing_yaml_file(spec, tmp_path):
    missing = str(tmp_path / "nope.yaml")
    message = error_of(spec, [missing])
    assert missing in message and "does not exist" in message


def test_the_params_yaml_of_a_run_stopped_before_it_wrote_one_says_how_to_go_on(spec, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".evolearn-outputs").write_text(".evolearn-outputs\n")
    message = error_of(spec, [str(out / "params.yaml")])
    assert "does not exist" in message and "stopped before it wrote its params.yaml" in message
    assert f"--resume '{out}'" in message
    # Without a run's record, no such word.
    (out / ".evolearn-outputs").unlink()
    assert "stopped before" not in error_of(spec, [str(out / "params.yaml")])


def test_malformed_yaml_file(spec, write_yaml):
    message = error_of(spec, [write_yaml("lr: [0.1\nbatch_size: 3\n")])
    assert "is not valid YAML" in message and "params.yaml" in message
    assert "\n" not in message


def test_yaml_file_that_is_not_a_mapping(spec, write_yaml):
    message = error_of(spec, [write_yaml("- lr\n- 0.1\n")])
    assert "must be a YAML mapping" in message and "list" in message


def test_key_given_twice_in_the_yaml_file(spec, write_yaml):
    message = error_of(spec, [write_yaml("lr: 0.1\nlr: 0.2\n")])
    assert "'lr' appears twice" in message


def test_unknown_yaml_key_suggests_the_closest_and_lists_the_valid_keys(spec, write_yaml):
    message = error_of(spec, [write_yaml("populaton_size: 10")])
    assert "Unknown parameter 'populaton_size'" in message
    assert "Did you mean 'population_size'?" in message
    assert "cull_ratio, elite_ratio, population_size" in message
    assert "env_name" not in message  # only this script's keys are listed


def test_unknown_command_line_option_suggests_the_closest(spec, write_yaml):
    message = error_of(spec, [write_yaml("{}"), "--learning_rat", "hebbian"])
    assert "Unknown option '--learning_rat'" in message
    assert "'--learning_rule'" in message


def test_command_line_option_of_another_script_is_refused(spec, write_yaml):
    message = error_of(spec, [write_yaml("{}"), "--env_name", "CartPole-v1"])
    assert "--env_name" in message and "not used by run-test.py" in message


def test_argparse_errors_become_param_errors(spec, write_yaml):
    assert "expected one argument" in error_of(spec, [write_yaml("{}"), "--lr"])
    assert "params_file" in error_of(spec, [])


@pytest.mark.parametrize(
    "argv_tail, text",
    [
        (["--lr", "abc"], "lr must be a number > 0, got 'abc' (from the command line)"),
        (["--lr", "0"], "lr must be a number > 0, got '0'"),
        (["--lr", "inf"], "lr must be a finite number > 0, got 'inf'"),
        (["--batch_size", "0"], "batch_size must be an integer >= 1, got '0'"),
        (["--use_cuda", "maybe"], "use_cuda must be a boolean (yes/true/t/y/1 or no/false/f/n/0)"),
        (["--seed", "-1"], "seed must be an integer >= 0, got '-1'"),
    ],
)
def test_wrong_type_or_range_on_the_command_line(spec, write_yaml, argv_tail, text):
    assert text in error_of(spec, [write_yaml("{}"), *argv_tail])


def test_wrong_type_in_yaml_names_the_file(spec, write_yaml):
    path = write_yaml("lr: abc")
    assert error_of(spec, [path]) == f"lr must be a number > 0, got 'abc' (from {path})."


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_probability_outside_zero_one(spec, write_yaml, value):
    message = error_of(spec, [write_yaml(f"cull_ratio: {value}")])
    assert message.startswith(f"cull_ratio must be a number in [0, 1], got {value}")


def test_mutation_probabilities_must_sum_to_one(spec, write_yaml):
    message = error_of(spec, [write_yaml("p_add_node: 0.3\np_add_connection: 0.5")])
    assert "must sum to 1" in message
    assert "p_add_connection = 0.5" in message and "p_add_node = 0.3" in message
    assert "sum to 0.8" in message


def test_mutation_probabilities_within_tolerance_pass(spec, write_yaml):
    params = parse_params(spec, [write_yaml("p_add_node: 0.1\np_add_connection: 0.9000000001")])
    assert params.p_add_node == 0.1


def test_mutation_probability_names_default_to_those_of_the_script(write_yaml):
    spec3 = ScriptSpec(
        "wann.py",
        "",
        ("p_add_connection", "p_add_node", "p_change_activation"),
        checks=(check_mutation_probabilities_sum,),
    )
    parse_params(spec3, [write_yaml("p_add_node: 0.25\np_add_connection: 0.25")])  # 0.5 left
    message = error_of(spec3, [write_yaml("p_change_activation: 0.6")])
    assert "p_change_activation = 0.6" in message and "sum to 1.1" in message


def test_tournament_larger_than_the_breeding_pool(spec, write_yaml):
    # 20 networks, int(20 * 0.25) = 5 culled: a pool of 15
    path = write_yaml("cull_ratio: 0.25\ntournament_size: 16")
    message = error_of(spec, [path])
    assert "tournament_size = 16" in message and "only 15 networks" in message
    assert parse_params(spec, [path, "--tournament_size", "15"]).tournament_size == 15


def test_elite_larger_than_what_is_left_after_culling(spec, write_yaml):
    path = write_yaml("cull_ratio: 0.5\nelite_ratio: 0.6\ntournament_size: 2")
    message = error_of(spec, [path])
    assert "elite" in message and "= 12" in message and "only 10" in message


@pytest.mark.parametrize(
    "key, bad, allowed",
    [
        ("learning_rule", "hebian", "backprop, hebbian, feedback_alignment"),
        ("optimizer", "adamw", "sgd, adam, adadelta"),
        (
            "evaluation_period",
            "last",
            "integral, last_batch, last_ten_batches, first_ten_batches, last_epoch",
        ),
        ("dataset", "cifar", "digits, mnist"),
    ],
)
def test_unknown_registry_name_lists_the_names(spec, write_yaml, key, bad, allowed):
    in_file = [write_yaml(f"{key}: {bad}", "bad.yaml")]
    on_command_line = [write_yaml("{}", "empty.yaml"), f"--{key}", bad]
    for argv in (in_file, on_command_line):
        message = error_of(spec, argv)
        assert message.startswith(f"{key} must be one of: {allowed}, got '{bad}'")


def test_unknown_registry_name_suggests_the_closest(spec, write_yaml):
    message = error_of(spec, [write_yaml("learning_rule: hebian")])
    assert "Did you mean 'hebbian'?" in message


def test_a_file_tournament_is_fitted_to_a_population_made_smaller_on_the_command_line(tmp_path):
    from evolearn.wann.gym import SPEC as GYM_SPEC

    params = parse_params(
        GYM_SPEC, ["params/wann-gym/BipedalWalker-v3.yaml", "--population_size", "8"]
    )
    assert params.tournament_size == 7  # 8 minus int(8 * 0.2) culled
    assert "tournament_size 32" in params.notes[0]
    with pytest.raises(ParamError, match="tournament_size"):
        parse_params(
            GYM_SPEC,
            [
                "params/wann-gym/BipedalWalker-v3.yaml",
                "--population_size",
                "8",
                "--tournament_size",
                "32",
            ],
        )


def test_a_scripts_default_is_written_only_where_it_differs_from_the_options(monkeypatch):
    # Defaults live in two places: the option's own, and a script's override of it.
    # The script modules need the real registries, not this file's stand-ins.
    monkeypatch.delitem(sys.modules, "evolearn.wlnn.learning")
    monkeypatch.delitem(sys.modules, "evolearn.data")
    from evolearn.experiment.options import EVOLUTION_OPTIONS
    from evolearn.wann import classification, gym
    from evolearn.wlnn import baseline, evolution

    for script in (classification, gym, baseline, evolution):
        for name, value in script.SPEC.defaults.items():
            assert value != OPTIONS[name].default, (script.SPEC.name, name)
    for script in (classification, gym, evolution):
        assert set(EVOLUTION_OPTIONS) <= set(script.SPEC.options), script.SPEC.name


@pytest.mark.parametrize(
    "key, suggested",
    [
        ("learning_rate", "'lr'"),
        ("epochs", "'num_epochs'"),
        ("pop_size", "'population_size'"),
        ("generations", "'num_generations'"),
    ],
)
def test_common_names_of_other_toolkits_suggest_the_option(spec, write_yaml, key, suggested):
    with pytest.raises(ParamError, match=f"Did you mean {suggested}"):
        parse_params(spec, [write_yaml(f"{key}: 1")])
