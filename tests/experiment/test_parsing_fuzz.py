"""Fuzzing the parameter layer of the four scripts with malformed files and command lines.

Whatever a user writes into a parameter file or onto the command line, ``parse_params`` must
end in one of two ways: a :class:`Params` whose every value fits its :class:`Option` (type,
bounds, choices) and whose cross-option checks hold, or a :class:`ParamError` with a
one-paragraph message that says which parameter or file is wrong. Any other exception (a
KeyError, a PyYAML error, a RecursionError, ...) would reach the user as a traceback.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import signal
import string

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from evolearn.errors import ParamError
from evolearn.experiment.options import FALSE_WORDS, FLAG, MAX_INT, OPTIONS, TRUE_WORDS, Option
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.search.reproduction import breeding_pool_size
from evolearn.wann import classification as wann_classification
from evolearn.wann import gym as wann_gym
from evolearn.wlnn import baseline as no_evolution
from evolearn.wlnn import evolution as wlnn_evolution

SPECS = (no_evolution.SPEC, wlnn_evolution.SPEC, wann_classification.SPEC, wann_gym.SPEC)
SPEC_IDS = [spec.name for spec in SPECS]
MUTATION_PROBABILITIES = ("p_add_connection", "p_add_node", "p_change_activation")

# Budgets: the whole file runs in about 15 s.
FUZZ = settings(
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_PER_SCRIPT = settings(FUZZ, max_examples=60)


# --------------------------------------------------------------------------------------------
# The two allowed outcomes


def assert_fits(option: Option, value) -> None:
    """``value`` is a value ``option`` allows: its type, bounds and choices."""
    name = option.name
    if value is None:  # a nullable option with a default_factory never stays None
        assert option.nullable and option.default_factory is None, name
        return
    if option.type in (bool, FLAG):
        assert type(value) is bool, (name, value)
        return
    if option.type is int:
        assert type(value) is int and abs(value) <= MAX_INT, (name, value)
    elif option.type is float:
        assert type(value) is float and math.isfinite(value), (name, value)
    else:
        assert type(value) is str, (name, value)
    if option.minimum is not None:
        assert value > option.minimum if option.min_exclusive else value >= option.minimum
    if option.maximum is not None:
        assert value < option.maximum if option.max_exclusive else value <= option.maximum
    names = option.choice_names()
    if names is not None:
        assert value in names, (name, value)


def assert_valid(spec: ScriptSpec, params: Params) -> None:
    """A run configuration the script can start with."""
    assert isinstance(params, Params)
    values = params.to_dict()
    assert set(values) == set(spec.options)
    for name, value in values.items():
        assert_fits(OPTIONS[name], value)
    for check in spec.checks:
        check(params)
    # the cross-option rules once more, written out independently of the check functions
    used = [n for n in MUTATION_PROBABILITIES if n in values]
    if used:
        assert abs(math.fsum(values[n] for n in used) - 1.0) <= 1e-6, values
    if "tournament_size" in values:
        n, cull = values["population_size"], values["cull_ratio"]
        pool = breeding_pool_size(n, cull)
        assert 1 <= values["tournament_size"] <= pool, values
        assert int(n * values["elite_ratio"]) <= pool, values


def assert_clean_error(err: ParamError, argv: list[str]) -> None:
    """A non-empty one-paragraph message that names a parameter, the file or the argument."""
    message = str(err)
    assert type(err) is ParamError
    assert message.strip(), "empty message"
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message, message
    names = ("parameter file", "params_file", *OPTIONS)
    assert any(name in message for name in names) or any(repr(a) in message for a in argv), message


def record(outcome: str) -> None:
    """Count outcomes for --hypothesis-show-statistics (only inside a Hypothesis test)."""
    try:
        event(outcome)
    except InvalidArgument:
        pass


def check_outcome(spec: ScriptSpec, argv: list[str]) -> Params | None:
    """Run the parameter layer; any exception but ParamError (SystemExit too) fails the test."""
    try:
        params = parse_params(spec, argv)
    except ParamError as err:
        record("outcome: ParamError")
        assert_clean_error(err, argv)
        return None
    record("outcome: valid run configuration")
    assert_valid(spec, params)
    return params


def write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# --------------------------------------------------------------------------------------------
# Strategies: pieces of YAML


def _choice_names() -> list[str]:
    return sorted({c for o in OPTIONS.values() for c in (o.choice_names() or ())})


#: Scalars and fragments that YAML (1.1, as PyYAML reads it) treats in special ways.
SPECIAL_SCALARS = [
    ".nan", ".NaN", ".inf", "-.inf", "+.Inf", "nan", "inf", "-inf", "NaN", "Infinity",
    "1e3", "1e-2", "1.5e+3", "1E400", "-1e400", "1e308", "5e-324", "1_000", "0x1F", "0o17",
    "017", "0b101", "+1", "-0", "-0.0", "1:30", "190:20:30.15", "1.", ".5",
    "2020-13-45", "2020-01-01", "2001-12-14t21:59:43.10-05:00", "2020-02-30 25:61:61",
    "~", "null", "Null", "NULL", "", "yes", "No", "on", "OFF", "true", "False", "y", "n",
    "t", "f", "''", '""', "[]", "{}", "[1, 2]", "{a: 1}", "[[[]]]", "[.nan, .inf]",
    "!!int abc", "!!int 0x", "!!int ''", "!!float x", "!!float ''", "!!str 5", "!!binary zz",
    "!!binary aGk=", "!!timestamp foo", "!!timestamp 2020-13-45", "!!bool maybe",
    "!!null x", "!!python/object:os.system {}", "!!python/object/apply:os.system [ls]",
    "!!python/name:os.system", "!!python/tuple [1]", "!!set {a, b}", "!!omap [a]",
    "!!pairs [1]", "!!map [1]", "!!seq {a: 1}", "!custom 1", "!<tag:x,2000:y> 1",
    "&a 1", "*undefined", "|", ">", "- 1", "? x", '"unterminated', "'unterminated",
    "[1, 2", "{a: 1", "]", "}", "#comment", "@reserved", "`reserved", "%", "a: b: c",
    "9" * 400, "9" * 5000, "1" + "0" * 308 + ".0", str(MAX_INT), str(MAX_INT + 1),
    str(-MAX_INT - 1), '"\\ud800"', '"\\x00"', "\x85", "\u2028", "\ufeff",
]  # fmt: skip

KEY_NAMES = list(OPTIONS)


@st.composite
def misspelled(draw) -> str:
    """An option name with one typo: a letter left out, added, swapped or upper-cased."""
    name = draw(st.sampled_from(KEY_NAMES))
    i = draw(st.integers(0, len(name) - 1))
    edit = draw(st.sampled_from(["drop", "add", "swap", "upper", "dash"]))
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    if edit == "add":
        return name[:i] + draw(st.sampled_from("aesx_")) + name[i:]
    if edit == "swap" and i + 1 < len(name):
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if edit == "dash":
        return name.replace("_", "-")
    return name[:i] + name[i].upper() + name[i + 1 :]


random_line = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30
)

numbers_text = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(-10, 300).map(str),
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:e}"),
    st.integers(300, 5000).map(lambda k: "9" * k),  # beyond float, beyond int(str) limits
)

scalar_text = st.one_of(
    st.sampled_from(SPECIAL_SCALARS),
    numbers_text,
    st.sampled_from(_choice_names()),
    misspelled(),
    random_line.map(json.dumps),  # a double-quoted string
    random_line,  # anything on one line
)


@st.composite
def value_text(draw, key: str) -> str:
    """The text after ``key:``: a scalar, a flow or block collection, sometimes broken."""
    kind = draw(st.sampled_from(["scalar", "scalar", "scalar", "typed", "list", "map", "tab"]))
    if kind == "typed" and key in OPTIONS:
        return " " + yaml_of(draw(in_domain(OPTIONS[key])))
    if kind == "list":
        items = draw(st.lists(scalar_text, max_size=3))
        return "".join(f"\n  - {item}" for item in items) or " []"
    if kind == "map":
        items = draw(st.lists(st.tuples(st.sampled_from(KEY_NAMES), scalar_text), max_size=3))
        return "".join(f"\n  {k}: {v}" for k, v in items) or " {}"
    if kind == "tab":
        return "\n\t- " + draw(scalar_text)
    return " " + draw(scalar_text)


key_text = st.one_of(
    st.sampled_from(KEY_NAMES),
    st.sampled_from(KEY_NAMES),
    misspelled(),
    st.sampled_from(
        [
            "1",
            "null",
            "~",
            "true",
            "1.5",
            ".nan",
            "<<",
            "'lr'",
            '"seed"',
            "? [a, b]\n",
            "? {a: 1}\n",
            "? !!set {a}\n",
            "!!python/object:os.system lr",
            "&k seed",
            "*k",
            "[seed]",
            "{seed: 1}",
            "2020-01-01",
            "- seed",
            "''",
            "? |\n  lr\n",
        ]
    ),
    st.text(string.ascii_letters + "_-", min_size=1, max_size=15),
    random_line.map(json.dumps),
)


@st.composite
def yaml_mapping(draw) -> str:
    """A YAML mapping of known, misspelled and odd keys with odd values (duplicates too)."""
    lines = []
    for key in draw(st.lists(key_text, max_size=8)):
        if key.endswith("\n"):  # a complex key ("? [a, b]") takes its value on the next line
            lines.append(f"{key}:{draw(value_text(''))}")
        else:
            lines.append(f"{key}:{draw(value_text(key))}")
    text = "\n".join(lines)
    prefix = draw(st.sampled_from(["", "", "---\n", "--- ", "%YAML 1.1\n---\n", "# c\n"]))
    suffix = draw(st.sampled_from(["", "\n", "\n...\n", "\n---\n", "\n---\n- 1\n", "\n---\nx"]))
    return prefix + text + suffix


@st.composite
def mutated(draw, texts) -> str:
    """Random edits of a text: characters deleted, inserted or replaced."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        what = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = draw(st.sampled_from(list(":-[]{}\"'&*!|>#\t\n ,?%@`") + ["---", "\x00"]))
        if what == "delete":
            text = text[:i] + text[i + 1 :]
        elif what == "insert":
            text = text[:i] + piece + text[i:]
        else:
            text = text[:i] + piece + text[i + 1 :]
    return text


@st.composite
def nested(draw) -> str:
    depth = draw(st.sampled_from([10, 100, 400, 1000]))  # PyYAML needs O(depth**2) time
    opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
    if opening == "- ":
        body = "\n".join("  " * i + "- " for i in range(min(depth, 300))) + "1"
        return f"seed:\n{body}"
    return "seed: " + opening * depth + closing * depth


ALIAS_DOCUMENTS = [
    "seed: &a 1\npopulation_size: *a",
    "seed: *missing",
    "seed: &a [*a]",
    "env_name: &a {x: *a}",
    "out_dir: &a\n  - *a",
    "? &k seed\n: 1\n*k : 2",
    "<<: {seed: 3}",
    "<<: [{seed: 3}, {lr: 0.5}]",
    "<<: 5",
    "<<: *nothing",
    "lr: &x 0.5\n<<: {seed: 1}\nseed: 2",
]

non_mapping = st.sampled_from(
    ["", " ", "\n\n", "~", "null", "42", "hello", "- 1\n- 2", "[seed, 1]", "--- 5",
     "---\n---\n", "...", "!!python/object:os.system {}", '"seed: 1"', "|\n  seed: 1"]
)  # fmt: skip

yaml_document = st.one_of(
    yaml_mapping(),
    yaml_mapping(),
    yaml_mapping(),
    mutated(yaml_mapping()),
    st.tuples(yaml_mapping(), yaml_mapping()).map(lambda ab: ab[0] + "\n---\n" + ab[1]),
    non_mapping,
    st.sampled_from(ALIAS_DOCUMENTS),
    nested(),
    st.text(max_size=200),  # random text, most of it no YAML at all
    st.sampled_from(["[", "{", "[[[", "{[}", "seed: [1, 2", "seed: {a: ]", "'", '"']),
    st.integers(1000, 200_000).map(lambda n: "seed: " + "x" * n),  # a very long line
    st.integers(1000, 100_000).map(lambda n: "a" * n),
)


@st.composite
def yaml_bytes(draw) -> bytes:
    """A document as bytes, mostly UTF-8; sometimes another encoding or random bytes."""
    how = draw(st.sampled_from(["utf-8"] * 6 + ["bom", "utf-16", "latin-1", "junk", "binary"]))
    if how == "binary":
        return draw(st.binary(max_size=300))
    text = draw(yaml_document)
    if how == "bom":
        return "\ufeff".encode() + text.encode()
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "latin-1":
        return (text + " # déjà vu").encode("latin-1", errors="replace")
    if how == "junk":
        data = bytearray(text.encode())
        i = draw(st.integers(0, len(data)))
        return bytes(data[:i]) + draw(st.binary(min_size=1, max_size=8)) + bytes(data[i:])
    return text.encode()


# --------------------------------------------------------------------------------------------
# Strategies: values an option allows, and how a user writes them


#: The values of options whose strings a check function validates (a random text is not one).
CHECKED_DOMAINS = {
    "scheduler": st.one_of(
        st.none(),
        st.sampled_from(["none", "tcp://127.0.0.1:8786", "tls://node-1:8786", "run/sched.json"]),
        st.integers(1, 10**6).map(lambda n: f"local:{n}"),
    ),
    "hidden_layers": st.lists(st.integers(1, 512), min_size=1, max_size=4).map(
        lambda sizes: ",".join(map(str, sizes))
    ),
    "morphologies": st.lists(
        st.sampled_from(["standard", "damaged_left", "damaged_right"]),
        min_size=1,
        max_size=3,
        unique=True,
    ).map(",".join),  # fmt: skip
}


def in_domain(option: Option):
    """Values that ``option`` allows (bounded, typed), as Python objects."""
    if option.check is not None:
        return CHECKED_DOMAINS[option.name]
    if option.type in (bool, FLAG):
        return st.booleans()
    if option.type is int:
        low = int(option.minimum) if option.minimum is not None else -MAX_INT
        return st.one_of(st.integers(low, low + 300), st.integers(low, MAX_INT))
    if option.type is float:
        floats = st.floats(
            min_value=option.minimum,
            max_value=option.maximum,
            exclude_min=option.min_exclusive,
            exclude_max=option.max_exclusive,
            allow_nan=False,
            allow_infinity=False,
        )
        round_numbers = [x for x in (0.0, 0.25, 0.5, 1.0, 1e-3, 1, 3) if _in_bounds(option, x)]
        return st.one_of(floats, st.sampled_from(round_numbers))
    names = option.choice_names()
    if names is not None:
        return st.sampled_from(sorted(names))
    # no NUL (argv cannot hold it) and no NEL/LS/PS: PyYAML's dump and load of those do not
    # round-trip (a lone NEL in a plain scalar comes back as a space)
    text = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x85\u2028\u2029")
    )
    return st.one_of(text, st.none()) if option.nullable else text


def _fill(option: Option, value):
    """What parse_params makes of None: the option's default_factory, if it has one."""
    if value is None and option.default_factory is not None:
        return option.default_factory()
    return value


def _in_bounds(option: Option, x: float) -> bool:
    low, high = option.minimum, option.maximum
    ok_low = low is None or (x > low if option.min_exclusive else x >= low)
    return ok_low and (high is None or (x < high if option.max_exclusive else x <= high))


def yaml_of(value) -> str:
    """``value`` as a YAML flow scalar on one line."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=math.inf)
        .removesuffix("\n...\n")
        .rstrip("\n")
    )


def cli_text(option: Option, value) -> str:
    if option.type is bool:
        return str(value)  # True / False: read case-insensitively like true / false
    if option.type is float:
        return repr(float(value))
    return str(value)


@st.composite
def bool_word(draw, value: bool) -> str:
    word = draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))
    return "".join(c.upper() if draw(st.booleans()) else c for c in word)


# --------------------------------------------------------------------------------------------
# Strategies: command lines

CLI_VALUES = [
    "1", "0", "-1", "0.5", "1.5", "1e3", "1e-2", "nan", "inf", "-inf", "1e400", "9" * 400,
    "9" * 5000, str(MAX_INT + 1), "", " ", "yes", "no", "TRUE", "maybe", "mnist", "digits",
    "backprop", "adam", "last_epoch", "None", "null", "[1]", "{a: 1}", "0x10", "1_000",
    "１２", "٣", "--", "-", "=", "a=b", "\t", "é", "\x00",
]  # fmt: skip


def _not_help(token: str) -> bool:
    # --help / -h (also -hx, which argparse reads as -h -x) print the help and exit 0.
    return not (token.startswith("-h") or token.startswith("--help"))


option_token = st.one_of(
    st.sampled_from(KEY_NAMES).map(lambda n: "--" + n),
    st.sampled_from(KEY_NAMES).map(lambda n: "--" + n),
    misspelled().map(lambda n: "--" + n),
    st.text(max_size=12).map(lambda s: "--" + s),
    st.text(max_size=3).map(lambda s: "-" + s),
    st.sampled_from(["--", "-", "", "---", "--=", "--=1", "-1", "-0.5", "--seed--seed"]),
).filter(_not_help)

value_token = st.one_of(
    st.sampled_from(CLI_VALUES),
    numbers_text,
    st.sampled_from(_choice_names()),
    st.text(max_size=20),
    st.integers(200, 6000).map(lambda n: "x" * n),  # a file name too long for the system
)


@st.composite
def cli_tokens(draw, spec: ScriptSpec) -> list[str]:
    """Options with and without values, --name=value, repeated options, positional junk.

    Many of the options are the script's own with a value of the right type or a tricky
    number, so that a command line is often clean except for one odd value."""
    tokens: list[str] = []
    forms = ["own", "own", "own", "pair", "pair", "alone", "equals", "junk"]
    for _ in range(draw(st.integers(0, 6))):
        form = draw(st.sampled_from(forms))
        if form == "own":
            option = OPTIONS[draw(st.sampled_from(spec.options))]
            if option.type is FLAG:
                tokens.append("--" + option.name)
                continue
            value = draw(in_domain(option))
            text = draw(
                st.one_of(
                    st.just("x" if value is None else cli_text(option, value)),
                    st.sampled_from(CLI_VALUES),
                    numbers_text,
                )
            )
            tokens += [f"--{option.name}", text]
        elif form == "pair":
            tokens += [draw(option_token), draw(value_token)]
        elif form == "alone":
            tokens.append(draw(option_token))
        elif form == "equals":
            tokens.append(draw(option_token) + "=" + draw(value_token))
        else:
            tokens.append(draw(value_token))
    return [t for t in tokens if _not_help(t)]


# --------------------------------------------------------------------------------------------
# The fuzz tests


@FUZZ
@given(spec=st.sampled_from(SPECS), data=yaml_bytes())
def test_malformed_parameter_files(tmp_path, spec, data):
    """A parameter file of any content: a valid configuration or a clean ParamError."""
    path = write(tmp_path / "params.yaml", data)
    check_outcome(spec, [path])


@FUZZ
@given(
    spec=st.sampled_from(SPECS),
    data=st.one_of(st.just(b""), st.just(b"seed: 1\n"), yaml_bytes()),
    draw_tokens=st.data(),
    where=st.sampled_from(["first", "first", "first", "last", "missing", "twice", "after --"]),
)
def test_malformed_command_lines(tmp_path, spec, data, draw_tokens, where):
    """Random options, missing values, repeats, junk: a valid configuration or a ParamError."""
    tokens = draw_tokens.draw(cli_tokens(spec), label="tokens")
    path = write(tmp_path / "params.yaml", data)
    argv = {
        "first": [path, *tokens],
        "last": [*tokens, path],
        "missing": tokens,
        "twice": [path, *tokens, path],
        "after --": ["--", path, *tokens],
    }[where]
    check_outcome(spec, argv)


@st.composite
def well_typed_run(draw, spec: ScriptSpec):
    """Values each option allows, some in the file, some on the command line, some in both
    (the command line wins), some repeated on the command line (the last one wins).

    In half of the runs the options of the cross-option checks get values that satisfy them
    (mostly), so that both outcomes are common. Returns the file's text, the command line
    without the file and the values expected."""
    file_values: dict = {}
    argv: list[str] = []
    expected: dict = {}
    coherent = draw(st.booleans())
    used_p = [n for n in MUTATION_PROBABILITIES if n in spec.options]
    n_cuts = max(len(used_p) - 1, 0)
    inner = draw(st.lists(st.floats(0, 1), min_size=n_cuts, max_size=n_cuts))
    cuts = [0.0, *sorted(inner), 1.0]
    split = {n: cuts[i + 1] - cuts[i] for i, n in enumerate(used_p)}  # sums to 1

    def final_value(option: Option):
        """The value the option ends with: any allowed one, or one that fits the checks."""
        if coherent and option.name in split:
            return split[option.name]
        if coherent and option.name == "elite_ratio":
            return draw(st.floats(0, 1 - expected["cull_ratio"]))
        if coherent and option.name == "tournament_size":
            pool = breeding_pool_size(expected["population_size"], expected["cull_ratio"])
            return draw(st.integers(1, max(1, pool)))
        return draw(in_domain(option))

    checked = {*split, "elite_ratio", "tournament_size"}
    on_command_line = set()
    for name in spec.options:
        option = OPTIONS[name]
        default = spec.defaults.get(name, option.default)
        places = ["none", "none", "none", "file", "cli", "both"]
        if coherent and name in checked:
            places = ["file", "cli", "both"]
        where = draw(st.sampled_from(places))
        expected[name] = default
        if where in ("file", "both"):
            value = final_value(option) if where == "file" else draw(in_domain(option))
            if option.type in (bool, FLAG) and draw(st.booleans()):
                file_values[name] = draw(bool_word(value))
            elif option.type is int and abs(value) < 2**53 and draw(st.booleans()):
                file_values[name] = float(value)  # 3.0 is the integer 3
            else:
                file_values[name] = value
            expected[name] = value
        if where in ("cli", "both"):
            value = final_value(option)
            if option.type is FLAG:
                value = True  # a flag on the command line can only switch on
                argv.append("--" + name)
            else:
                if option.nullable and value is None:
                    value = "" if option.check is None else "none"
                for given_value in [*draw(st.lists(in_domain(option), max_size=1)), value]:
                    if option.nullable and given_value is None:
                        given_value = "x" if option.check is None else "none"
                    if option.type is bool and draw(st.booleans()):
                        text = draw(bool_word(given_value))
                    else:
                        text = cli_text(option, given_value)
                    if option.type is str or draw(st.booleans()):
                        argv.append(f"--{name}={text}")
                    else:
                        argv += [f"--{name}", text]
            expected[name] = value
            on_command_line.add(name)
        if option.type is float and expected[name] is not None:
            expected[name] = float(expected[name])
    if (
        "tournament_size" in expected
        and "tournament_size" not in on_command_line
        and on_command_line & {"population_size", "cull_ratio"}
    ):
        # a tournament of the file (or default) is fitted to a population shrunk on the
        # command line
        pool = breeding_pool_size(expected["population_size"], expected["cull_ratio"])
        if 1 <= pool < expected["tournament_size"]:
            expected["tournament_size"] = pool
    text = yaml.safe_dump(file_values, sort_keys=False, allow_unicode=draw(st.booleans()))
    return text, argv, expected


@FUZZ_PER_SCRIPT
@given(data=st.data())
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_values_in_their_domain_are_taken_as_given(tmp_path, spec, data):
    """In-domain values are never rejected, except by a cross-option check, and arrive
    unchanged, the command line overriding the file."""
    text, argv, expected = data.draw(well_typed_run(spec))
    path = write(tmp_path / "params.yaml", text.encode())
    argv = [path, *argv]
    params = check_outcome(spec, argv)
    if params is None:
        # the only excuse: a cross-option check fails on exactly these values
        with pytest.raises(ParamError) as expected_error:
            values = {n: _fill(OPTIONS[n], v) for n, v in expected.items()}
            for check in spec.checks:
                check(Params(values, script=spec.name))
        with pytest.raises(ParamError) as actual_error:
            parse_params(spec, argv)
        assert str(actual_error.value) == str(expected_error.value)
        return
    for name, value in expected.items():
        if value is None and OPTIONS[name].default_factory is not None:
            assert isinstance(params[name], str) and params[name]  # out/<time>, a data folder
        else:
            assert params[name] == value and type(params[name]) is type(value), name


# --------------------------------------------------------------------------------------------
# The parameter file itself is the problem


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_parameter_file_that_is_not_a_readable_file(tmp_path, monkeypatch, spec):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    cases = {
        "a folder": (str(folder), "is a folder"),
        "missing": (str(tmp_path / "missing.yaml"), "does not exist"),
        "missing folder": (str(tmp_path / "no" / "such.yaml"), "does not exist"),
        "empty argument": ("", "is a folder"),
        "name too long": (str(tmp_path / ("x" * 5000)), "cannot be read"),
        "null byte": (str(tmp_path / "a\x00b.yaml"), "does not exist"),
    }
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        cases["a pipe"] = (str(fifo), "is not a regular file")
    for path, words in cases.values():
        with pytest.raises(ParamError, match=words) as info:
            parse_params(spec, [path])
        assert_clean_error(info.value, [path])

    unreadable = tmp_path / "unreadable.yaml"
    unreadable.write_text("seed: 1\n")
    unreadable.chmod(0)
    if os.access(unreadable, os.R_OK):  # root reads anything: make open() fail as it would
        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):
            if str(file) == str(unreadable):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    try:
        with pytest.raises(ParamError, match="cannot be read") as info:
            parse_params(spec, [str(unreadable)])
    finally:
        unreadable.chmod(0o600)
    assert_clean_error(info.value, [str(unreadable)])


# --------------------------------------------------------------------------------------------
# Regressions: inputs that crashed the parameter layer before


@pytest.mark.parametrize(
    "text, words",
    [
        ("seed: 2020-13-45\n", "not valid YAML"),  # ValueError from PyYAML's date constructor
        ("seed: !!int abc\n", "not valid YAML"),  # ValueError
        ("lr: !!float abc\n", "not valid YAML"),  # ValueError
        ("seed: !!timestamp foo\n", "not valid YAML"),  # AttributeError
        ("seed: !!int ''\n", "not valid YAML"),  # IndexError
        ("seed: !!bool maybe\n", "not valid YAML"),  # KeyError
        ("seed: !!map [a]\n", "expected a mapping node"),  # TypeError in the duplicate check
        ("? [a, b]\n: 1\n", "unhashable key"),  # TypeError in the duplicate-key check
        ("? {a: 1}\n: 1\n", "unhashable key"),  # TypeError
        ("seed: " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),  # RecursionError
        ("population_size: " + "9" * 5000 + "\n", "not valid YAML"),  # ValueError: > 4300 digits
        ("population_size: " + "9" * 400 + "\n", "population_size"),  # OverflowError in a check
        ("population_size: 1e300\n", "population_size"),  # OverflowError
        ("cull_ratio: " + "9" * 400 + "\n", "cull_ratio"),  # OverflowError in float()
    ],
    ids=lambda x: x[:30],
)
def test_regression_file_crashes(tmp_path, text, words):
    path = write(tmp_path / "params.yaml", text.encode())
    with pytest.raises(ParamError, match=words) as info:
        parse_params(wann_gym.SPEC, [path])  # uses population_size, cull_ratio and seed
    assert_clean_error(info.value, [path])


ODD_SCALARS = ["''", "x", "-", "+", "0x", "_", "1::2", "2020-13-45", "[]", "{}", "[a]", "[[a]]",
               "[{a: 1, b: 2}]", "{a: 1}", "~", "abc", "9" * 400]  # fmt: skip


@pytest.mark.parametrize("tag", [t for t in yaml.SafeLoader.yaml_constructors if t])
def test_every_yaml_tag_with_odd_values(tmp_path, tag):
    """Each tag of PyYAML's safe loader, given values it does not expect."""
    for value in ODD_SCALARS:
        path = write(tmp_path / "params.yaml", f"seed: !<{tag}> {value}\n".encode())
        check_outcome(wann_gym.SPEC, [path])


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_regression_huge_integers_on_the_command_line(tmp_path, spec):
    path = write(tmp_path / "params.yaml", b"")
    for value in ("9" * 400, str(MAX_INT + 1), str(-MAX_INT - 1)):
        with pytest.raises(ParamError, match="seed must be an integer") as info:
            parse_params(spec, [path, "--seed", value])
        assert_clean_error(info.value, [path])
    assert parse_params(spec, [path, "--seed", str(MAX_INT)]).seed == MAX_INT


def test_regression_merge_keys_are_read(tmp_path):
    """``<<: {...}`` merges (the duplicate-key check used to reject the merge tag)."""
    path = write(tmp_path / "params.yaml", b"<<: {seed: 3, num_trials: 2}\nseed: 4\n")
    params = parse_params(wann_gym.SPEC, [path])
    assert (params.seed, params.num_trials) == (4, 2)
    path = write(tmp_path / "params.yaml", b"seed: 1\nseed: 2\n")
    with pytest.raises(ParamError, match="appears twice"):
        parse_params(wann_gym.SPEC, [path])


def test_regression_billion_laughs_fails_fast(tmp_path):
    """Aliases make a value whose full repr has 9**10 items: the message shows a short one."""
    spare = [n for n in OPTIONS if n not in wann_gym.SPEC.options]  # read, but not checked
    lols = ", ".join(['"lol"'] * 9)
    lines = [f"{spare[0]}: &l0 [{lols}]"]
    for i in range(1, 9):
        lines.append(f"{spare[i]}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    lines.append(f"cull_ratio: [{', '.join(['*l8'] * 9)}]")
    path = write(tmp_path / "params.yaml", "\n".join(lines).encode())

    # The full value would take hours to expand: an alarm turns that into a failure instead of
    # a hang (no tighter wall-clock bound, which a loaded machine could miss).
    def expanded_too_long(signum, frame):
        raise AssertionError("the parameter file was expanded in full")

    previous = signal.signal(signal.SIGALRM, expanded_too_long)
    signal.alarm(120)
    try:
        with pytest.raises(ParamError, match="cull_ratio must be") as info:
            parse_params(wann_gym.SPEC, [path])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # short whatever the length of the temporary folder the message names
    assert len(str(info.value).replace(str(path), "PATH")) < 2000
    assert_clean_error(info.value, [path])


def test_regression_option_after_double_dash(tmp_path):
    """``file -- --seed 1``: --seed is an unexpected argument, not an option "not used"."""
    path = write(tmp_path / "params.yaml", b"")
    with pytest.raises(ParamError, match="Unexpected argument '--seed'"):
        parse_params(wann_gym.SPEC, [path, "--", "--seed", "1"])
