"""The option catalogue: every parameter the toolkit knows, with its type, default and help.

Every option is an :class:`Option` in :data:`OPTIONS`; its help text is its documentation
(``--help`` and the README show it). A script lists the options it uses, and its own defaults
for some of them, in a :class:`~evolearn.experiment.parsing.ScriptSpec`; parsing and validating
values is :mod:`evolearn.experiment.parsing`'s job, and the cross-option checks that scripts
list in their specs are in :mod:`evolearn.experiment.checks`.

To add an option: append an :class:`Option` to ``_OPTION_LIST`` below and list its name in the
specs of the scripts that use it (or in one of the shared lists, :data:`EVOLUTION_OPTIONS`, ...).
An option's default is written here once; a script may override it in its spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evolearn.experiment.workers import parse_scheduler

#: The option groups of the thesis's scripts, in the order ``--help`` shows them.
GROUPS: tuple[str, ...] = (
    "evolution options",
    "evaluation options",
    "training options",
    "architecture options",
    "task and dataset options",
    "computational options",
    "miscellaneous options",
)

#: Spellings accepted for boolean values (compared case-insensitively).
TRUE_WORDS = ("yes", "true", "t", "y", "1")
FALSE_WORDS = ("no", "false", "f", "n", "0")

#: The value of an option of type "flag" is a bool; on the command line it takes no value.
FLAG = "flag"

#: The largest magnitude of an integer option (int64, what numpy and torch can hold).
MAX_INT = 2**63 - 1

Choices = tuple[str, ...] | Callable[[], Iterable[str]]


# --------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class Option:
    """One parameter: its type, default, help text and the values it allows.

    ``type`` is ``int``, ``float``, ``bool``, ``str`` or ``"flag"`` (a bool that is given on
    the command line without a value). ``minimum``/``maximum`` bound numbers (inclusive unless
    ``min_exclusive``/``max_exclusive``). ``choices`` is a tuple of names or a zero-argument
    callable returning them, called only when needed, so that registries of other modules
    are read lazily. With ``nullable`` the value may be None; ``default_factory`` then
    computes the value at parse time when it is None (``default_help`` describes it).
    ``check`` validates a string value further: it raises ValueError saying what is wrong, and
    ``allowed_text`` then says what is allowed.
    """

    name: str
    group: str
    type: type | str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: Choices | None = None
    nullable: bool = False
    default_factory: Callable[[], Any] | None = None
    default_help: str | None = None
    check: Callable[[Any], Any] | None = None
    allowed_text: str | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"option {self.name}: unknown group {self.group!r}")
        if self.type not in (int, float, bool, str, FLAG):
            raise ValueError(f"option {self.name}: unsupported type {self.type!r}")

    def choice_names(self) -> tuple[str, ...] | None:
        """The allowed names, reading a lazy registry now; None when any value is allowed."""
        if self.choices is None:
            return None
        names = self.choices if isinstance(self.choices, tuple) else self.choices()
        return tuple(names)

    def allowed(self) -> str:
        """What values are allowed, as words: "a number in [0, 1]", "one of: a, b"."""
        names = self.choice_names()
        if self.allowed_text is not None:
            text = self.allowed_text
        elif names is not None:
            text = "one of: " + ", ".join(names)
        elif self.type in (bool, FLAG):
            text = f"a boolean ({'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)})"
        elif self.type is str:
            text = "a string"
        else:
            text = ("an integer" if self.type is int else "a number") + self._bounds_text()
        if self.nullable:
            text += " or null"
        return text

    def _bounds_text(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left = "(" if self.min_exclusive else "["
            right = ")" if self.max_exclusive else "]"
            return f" in {left}{_num(low)}, {_num(high)}{right}"
        if low is not None:
            return f" {'>' if self.min_exclusive else '>='} {_num(low)}"
        if high is not None:
            return f" {'<' if self.max_exclusive else '<='} {_num(high)}"
        return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _probability(name: str, group: str, default: float, help: str) -> Option:
    return Option(name, group, float, default, help, minimum=0.0, maximum=1.0)


def _positive_int(name: str, group: str, default: int, help: str) -> Option:
    return Option(name, group, int, default, help, minimum=1)


def _evaluation_periods() -> Iterable[str]:
    from evolearn.wlnn.learning import EVALUATION_PERIODS

    return EVALUATION_PERIODS.keys()


def _learning_rules() -> Iterable[str]:
    from evolearn.wlnn.learning import LEARNING_RULES

    return LEARNING_RULES.keys()


def _optimizers() -> Iterable[str]:
    from evolearn.wlnn.learning import OPTIMIZERS

    return OPTIMIZERS.keys()


def _activation_names() -> Iterable[str]:
    from evolearn.activations import ACTIVATION_NAMES

    return ACTIVATION_NAMES


def _datasets() -> Iterable[str]:
    from evolearn.data import DATASETS

    return DATASETS.keys()


def _hebbian_rules() -> Iterable[str]:
    from evolearn.hebbian.rules import RULES, STATIC

    return (*RULES, STATIC)


def layer_sizes(text: str) -> tuple[int, ...]:
    """``"128,64"`` -> (128, 64); ValueError for anything else."""
    try:
        sizes = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise ValueError("not integers separated by commas") from None
    if not sizes or min(sizes) < 1:
        raise ValueError("a layer size below 1")
    return sizes


def value_range(text: str) -> tuple[float, float]:
    """``"0.6,0.99"`` -> (0.6, 0.99); ValueError unless two numbers, the first below."""
    try:
        low, high = (float(part) for part in str(text).split(","))
    except ValueError:
        raise ValueError("not two numbers separated by a comma") from None
    if not low < high:
        raise ValueError("an empty or reversed range")
    return low, high


def morphology_list(text: str) -> tuple[str, ...]:
    """``"standard,damaged_left"`` -> ("standard", "damaged_left"): the ant's bodies
    (:mod:`evolearn.envs.ant`); ValueError for an unknown or repeated name."""
    from evolearn.envs.ant import MORPHOLOGIES

    names = tuple(part.strip() for part in str(text).split(","))
    unknown = [name for name in names if name not in MORPHOLOGIES]
    if unknown:
        raise ValueError(f"unknown {', '.join(map(repr, unknown))}")
    if len(set(names)) != len(names):
        raise ValueError("a body listed twice")
    return names


def default_out_dir() -> str:
    """``out/<YYYY-mm-dd_HH-MM-SS>`` for the current local time."""
    return str(Path("out") / datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))


_EVO, _EVAL, _TRAIN, _ARCH, _TASK, _COMP, _MISC = GROUPS
#: The group of ``--help`` that shows the positional parameter file.
PARAMS_FILE_GROUP = _TASK

_OPTION_LIST: list[Option] = [
    # evolution options
    _probability(
        "cull_ratio", _EVO, 0.2, "Fraction of worst networks to leave out of the breeding pool"
    ),
    _probability(
        "elite_ratio",
        _EVO,
        0.2,
        "Fraction of best networks to pass on to the new population directly",
    ),
    _positive_int("num_generations", _EVO, 100, "Number of generations for evolution"),
    _positive_int("population_size", _EVO, 64, "Number of networks in the population"),
    _probability(
        "p_add_connection", _EVO, 0.25, "Probability of adding a connection during mutation"
    ),
    _probability("p_add_node", _EVO, 0.25, "Probability of adding a node during mutation"),
    _probability(
        "p_change_activation",
        _EVO,
        0.5,
        "Probability of changing the activation of a node during mutation",
    ),
    Option(
        "hidden_activations",
        _EVO,
        str,
        "all",
        "Activations a new or changed hidden neuron may get (WANN): all (the ten of the thesis: "
        "linear, step, sine, cosine, gaussian, tanh, sigmoid, inverse, abs, relu) or a "
        "comma-separated list of them and squared (the WANN paper leaves out step for "
        "classification)",
    ),
    _positive_int(
        "tournament_size",
        _EVO,
        8,
        "Number of networks that compete during tournament selection",
    ),
    Option("inherit_weights", _EVO, bool, False, "Keep weights after mutating a network"),
    _positive_int(
        "num_mutations_per_generation",
        _EVO,
        1,
        "The number of mutations to carry out at each generation",
    ),
    _probability(
        "p_complexity_objective",
        _EVO,
        0.8,
        "The fraction of generations to rank according to complexity and reward "
        "(otherwise only reward)",
    ),
    # evaluation options
    _positive_int(
        "batch_size",
        _EVAL,
        256,
        "Batch size for evaluation (in run-wann-classification.py) or learning (in "
        "run-wlnn-mnist-no-evolution.py and run-wlnn-mnist.py)",
    ),
    _positive_int(
        "batch_size_eval", _EVAL, 1000, "Batch size for test set evaluation of learned networks"
    ),
    Option(
        "evaluation_period",
        _EVAL,
        str,
        "last_epoch",
        "Which training period should be used to evaluate networks. The options are: "
        '"integral" the mean across the whole training duration, "last_batch" the values in '
        'the final batch, "last_ten_batches" the values in the last ten batches, '
        '"first_ten_batches" the values in the first ten batches and "last_epoch" the values '
        "averaged in the last epoch only.",
        choices=_evaluation_periods,
    ),
    _positive_int("num_trials", _EVAL, 1, "How often to run the gym environment during evaluation"),
    _positive_int(
        "test_every",
        _EVAL,
        10,
        "Evaluate the champion on the test set every this many generations",
    ),
    # the genetic algorithm and the lifetime of run-harlow-baldwin.py
    _positive_int(
        "num_parents",
        _EVO,
        4,
        "Parents drawn (with replacement) from the tournament_size best each generation",
    ),
    _positive_int(
        "num_children",
        _EVO,
        5,
        "Children made each generation; as many random members leave the population",
    ),
    Option(
        "inheritance",
        _EVO,
        str,
        "baldwinian",
        "What a child inherits: baldwinian, its parents' initial weights; lamarckian, the "
        "weights they learned over their problems",
        choices=("baldwinian", "lamarckian"),
    ),
    Option(
        "parameter_noise",
        _EVO,
        float,
        0.02,
        "Standard deviation of the Gaussian noise added to every weight of a child",
        minimum=0.0,
    ),
    *(
        Option(
            f"{name}_noise",
            _EVO,
            float,
            noise,
            f"Standard deviation of the Gaussian noise added to a child's {name}",
            minimum=0.0,
        )
        for name, noise in (
            ("learning_rate", 0.00005),
            ("discount_factor", 0.01),
            ("state_value_estimate_cost", 0.05),
            ("entropy_cost", 0.001),
        )
    ),
    *(
        Option(
            f"{name}_range",
            _EVO,
            str,
            default,
            f"The range a child's {name} is clipped to: LOW,HIGH",
            check=value_range,
            allowed_text="two numbers LOW,HIGH with LOW < HIGH",
        )
        for name, default in (
            ("learning_rate", "0.0001,0.01"),
            ("discount_factor", "0.6,0.99"),
            ("state_value_estimate_cost", "0.1,0.7"),
            ("entropy_cost", "0.0001,0.05"),
        )
    ),
    _positive_int(
        "num_tasks",
        _EVAL,
        10,
        "New problems each individual learns from its inherited weights; its score is the "
        "sum of their evaluation scores",
    ),
    Option(
        "num_gradient_steps",
        _EVAL,
        int,
        25,
        "Gradient steps (episodes, each followed by one update) of a problem's lifetime; 0 "
        "is the no-learning control",
        minimum=0,
    ),
    _positive_int(
        "num_episode_trials", _EVAL, 6, "Trials of one training episode (one gradient step)"
    ),
    _positive_int(
        "num_evaluation_trials",
        _EVAL,
        20,
        "Trials after the gradient steps, without updates, that score a problem (+1 / -1)",
    ),
    _positive_int("hidden_size", _ARCH, 20, "Units of the learner's embedding and LSTM"),
    # evolution options of the evolution strategy (run-hebbian-gym.py)
    Option(
        "sigma",
        _EVO,
        float,
        0.1,
        "Standard deviation of the evolution strategy's noise; multiplied by 0.999 after "
        "every generation while above 0.01",
        minimum=0.0,
        min_exclusive=True,
    ),
    Option(
        "decay",
        _EVO,
        float,
        0.995,
        "The evolution strategy's lr is multiplied by this after every generation while "
        "above 0.001",
        minimum=0.0,
        maximum=1.0,
        min_exclusive=True,
    ),
    Option(
        "distribution",
        _EVO,
        str,
        "normal",
        "How the evolved coefficients (and weights) of generation 0 are drawn: normal "
        "N(0, 1) or uniform U(-1, 1)",
        choices=("normal", "uniform"),
    ),
    # training options
    Option(
        "hebb_rule",
        _TRAIN,
        str,
        "ABCD_lr",
        "The Hebbian rule whose coefficients (one set per synapse) are evolved, or static: "
        "the weights themselves are evolved",
        choices=_hebbian_rules,
    ),
    Option(
        "init_weights",
        _TRAIN,
        str,
        "uni",
        "The weights at the start of every episode: uni U(-0.1, 0.1), normal N(0, 0.024), "
        "or coevolve (evolved with the rule)",
        choices=("uni", "normal", "coevolve"),
    ),
    Option(
        "normalise_weights",
        _TRAIN,
        bool,
        True,
        "After every Hebbian update, divide each layer by its largest absolute weight",
    ),
    Option(
        "learning_rule",
        _TRAIN,
        str,
        "backprop",
        "Learning rule to train network",
        choices=_learning_rules,
    ),
    Option("lr", _TRAIN, float, 0.01, "Learning rate", minimum=0.0, min_exclusive=True),
    _positive_int("num_epochs", _TRAIN, 1, "Number of epochs for learning"),
    Option(
        "optimizer",
        _TRAIN,
        str,
        "adam",
        "Optimizer to train network (sgd, adam or adadelta)",
        choices=_optimizers,
    ),
    Option(
        "train_only_outputs",
        _TRAIN,
        FLAG,
        False,
        "If this option is selected, only the weights to the output units will be learned. "
        "Else, all weights will be learned.",
    ),
    # architecture options
    _positive_int(
        "num_inputs",
        _ARCH,
        256,
        "Number of input neurons: values per observation or sample (a bias neuron of "
        "bias_input comes on top)",
    ),
    _positive_int("num_outputs", _ARCH, 10, "Number of output neurons"),
    Option(
        "bias_input",
        _ARCH,
        bool,
        False,
        "Give WANN networks a bias neuron: an input that is always 1, before the num_inputs "
        "inputs, connected like them (the WANN paper's convention; the thesis has none)",
    ),
    Option(
        "output_activation",
        _ARCH,
        str,
        "linear",
        "Activation of the output neurons of WANN networks (the thesis: linear; the WANN "
        "paper: tanh for CartPoleSwingUp, linear for BipedalWalker and classification)",
        choices=_activation_names,
    ),
    _probability(
        "p_initial_connection_enabled",
        _ARCH,
        0.05,
        "Probability of enabling a connection between input and output layer at the start "
        "of evolution",
    ),
    Option(
        "num_hidden",
        _ARCH,
        int,
        0,
        "Number of relu neurons in one fully connected hidden layer of the trained network "
        "(run-wlnn-mnist-no-evolution.py; 0 gives the thesis's network without hidden layer, "
        "where p_initial_connection_enabled applies)",
        minimum=0,
    ),
    # task and dataset options
    Option(
        "dataset",
        _TASK,
        str,
        "mnist",
        "Dataset for classification (digits or mnist)",
        choices=_datasets,
    ),
    Option("env_name", _TASK, str, "CartPole-v1", "Name of the gym environment"),
    Option(
        "action_bounds",
        _TASK,
        str,
        "tanh",
        "Continuous actions: tanh maps each output onto the action's bounds, clip clips "
        "the raw output to them (the original code)",
        choices=("tanh", "clip"),
    ),
    Option(
        "morphologies",
        _TASK,
        str,
        "standard",
        "Bodies of the ant (Ant-v5) each candidate runs on, comma-separated; its score is the "
        "mean over them",
        check=morphology_list,
        allowed_text="standard, damaged_left, damaged_right, comma-separated, each once",
    ),
    Option(
        "hidden_layers",
        _ARCH,
        str,
        "128,64",
        "Sizes of the hidden layers, comma-separated",
        check=layer_sizes,
        allowed_text="positive integers separated by commas, such as 128,64",
    ),
    Option(
        "data_dir",
        _TASK,
        str,
        None,
        "Folder where MNIST's IDX files are looked for, and downloaded to if missing",
        nullable=True,
        default_help="$EVOLEARN_DATA_DIR, else ~/.cache/evolearn/mnist",
    ),
    # computational options
    _positive_int("num_workers", _COMP, 1, "Number of workers to run on"),
    Option(
        "scheduler",
        _COMP,
        str,
        None,
        "Evaluate each generation on a Dask cluster instead of --num_workers local "
        "processes: local:N starts one of N worker processes on this machine; tcp://HOST:8786 "
        "or a scheduler file (.json) joins a running one; none: the local processes",
        nullable=True,
        default_help="none",
        check=parse_scheduler,
        allowed_text=(
            "local:N, a scheduler address (tcp://HOST:PORT), a scheduler file (.json) or none"
        ),
    ),
    Option(
        "take_argmax_action",
        _COMP,
        bool,
        False,
        "Use argmax of the network output as the action in the environment",
    ),
    Option("use_cuda", _COMP, bool, False, "Use cuda devices if available"),
    Option("use_torch", _COMP, bool, False, "Use torch instead of numpy"),
    # miscellaneous options
    Option(
        "out_dir",
        _MISC,
        str,
        None,
        "The path to the output directory",
        nullable=True,
        default_factory=default_out_dir,
        default_help="out/<YYYY-mm-dd_HH-MM-SS>",
    ),
    Option(
        "overwrite_output",
        _MISC,
        FLAG,
        False,
        "Overwrite data in the output folder if it already exists.",
    ),
    Option(
        "seed",
        _MISC,
        int,
        0,
        "Seed of all random number generators; the same seed gives the same run whatever "
        "the number of workers",
        minimum=0,
    ),
    Option(
        "print_every",
        _MISC,
        int,
        1,
        "Write the generation's line to the log and the console every this many "
        "generations (the first and the last always)",
        minimum=1,
    ),
    Option(
        "checkpoint_every",
        _MISC,
        int,
        1,
        "Write a checkpoint (everything needed to continue the run) every this many "
        "generations (evolution scripts)",
        minimum=1,
    ),
    Option(
        "save_every",
        _MISC,
        int,
        100,
        "Save every network of the population as JSON (networks/gen-XXXXX/) every this many "
        "generations, and in the first and the last generation (evolution scripts)",
        minimum=1,
    ),
    Option(
        "resume",
        _MISC,
        str,
        None,
        "Continue the run in this output folder from its last checkpoint (give the run's "
        "params.yaml as the parameter file: python SCRIPT OUT_DIR/params.yaml --resume OUT_DIR)",
        nullable=True,
    ),
]

#: Every option the toolkit knows, by name, in the order of the groups.
OPTIONS: dict[str, Option] = {}


def register_option(option: Option) -> Option:
    """Add ``option`` to :data:`OPTIONS` (a name may be registered once)."""
    if option.name in OPTIONS:
        raise ValueError(f"option {option.name!r} is registered twice")
    OPTIONS[option.name] = option
    return option


for _option in _OPTION_LIST:
    register_option(_option)

#: Common names of options in other toolkits -> the option; an unknown key suggests it.
ALIASES: dict[str, str] = {
    "learning_rate": "lr",
    "epochs": "num_epochs",
    "n_epochs": "num_epochs",
    "pop_size": "population_size",
    "population": "population_size",
    "generations": "num_generations",
    "n_generations": "num_generations",
    "workers": "num_workers",
    "n_workers": "num_workers",
    "random_seed": "seed",
    "output_dir": "out_dir",
    "outdir": "out_dir",
}

#: The run machinery's options of the scripts whose generations print every --print_every
#: (run-hebbian-gym.py, run-harlow-baldwin.py), in their help's order.
RUN_OPTIONS: tuple[str, ...] = (
    "num_workers",
    "scheduler",
    "seed",
    "out_dir",
    "overwrite_output",
    "print_every",
    "checkpoint_every",
    "resume",
)

#: The options of every evolution script (the two WANN scripts and run-wlnn-mnist.py).
EVOLUTION_OPTIONS: tuple[str, ...] = (
    "cull_ratio",
    "elite_ratio",
    "num_generations",
    "population_size",
    "p_add_connection",
    "p_add_node",
    "tournament_size",
    "num_mutations_per_generation",
    "p_complexity_objective",
    "num_inputs",
    "num_outputs",
    "p_initial_connection_enabled",
    "num_workers",
    "scheduler",
    "use_cuda",
    "seed",
    "out_dir",
    "overwrite_output",
    "checkpoint_every",
    "save_every",
    "resume",
)
