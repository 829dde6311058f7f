"""Parsing the parameters of a script: defaults, then its YAML file, then the command line.

The options themselves (types, defaults, help texts, bounds) are the catalogue of
:mod:`evolearn.experiment.options`. A script describes which options it uses with a
:class:`ScriptSpec` and calls :func:`parse_params`, which merges, in this order:

1. the script's defaults (``Option.default``, overridden per script by ``ScriptSpec.defaults``),
2. the YAML parameter file given as the first positional argument,
3. the command line (``--name value``; flags take no value).

Every value is coerced to its option's type and checked against its bounds and choices; then
the script's cross-option checks run (for example
:func:`~evolearn.experiment.checks.check_tournament_fits`). Anything wrong raises
:class:`~evolearn.errors.ParamError` with a one-paragraph message that names the parameter, the
bad value, where it came from and what is allowed.

A key of the YAML file that the toolkit does not know is an error (it is most likely a typo);
a known key that this script does not use is accepted and reported in ``Params.ignored``,
because the thesis's parameter files share keys between scripts.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from evolearn.errors import ParamError
from evolearn.experiment.options import (
    ALIASES,
    FALSE_WORDS,
    FLAG,
    GROUPS,
    MAX_INT,
    OPTIONS,
    PARAMS_FILE_GROUP,
    TRUE_WORDS,
    Option,
)
from evolearn.experiment.outputs import RECORD_FILE
from evolearn.search.reproduction import breeding_pool_size

# --------------------------------------------------------------------------------------------
# Parsed parameters


class Params(Mapping[str, Any]):
    """The merged, validated parameters of one run; immutable.

    Values are read as attributes (``params.lr``) or items (``params["lr"]``). Only the
    options of the script are present, in :data:`OPTIONS` order. ``params_file`` is the YAML
    file they came from, ``ignored`` the known keys of that file that the script does not
    use, ``script`` the script's name.
    """

    __slots__ = ("_values", "params_file", "ignored", "script", "notes")

    def __init__(
        self,
        values: Mapping[str, Any],
        params_file: str | None = None,
        ignored: Sequence[str] = (),
        script: str = "",
        notes: Sequence[str] = (),
    ) -> None:
        ordered = {name: values[name] for name in OPTIONS if name in values}
        unknown = set(values) - set(ordered)
        if unknown:
            raise ValueError(f"unknown parameters: {sorted(unknown)}")
        object.__setattr__(self, "_values", ordered)
        object.__setattr__(self, "params_file", params_file)
        object.__setattr__(self, "ignored", list(ignored))
        object.__setattr__(self, "script", script)
        object.__setattr__(self, "notes", list(notes))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"{self.script or 'this script'} has no parameter {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Params are immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Params are immutable")

    def __reduce__(self):
        return (Params, (self._values, self.params_file, self.ignored, self.script, self.notes))

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r}, script={self.script!r})"

    def replace(self, **changes: Any) -> Params:
        """A copy with some values changed (already valid ones: nothing is checked again)."""
        values = {**self._values, **changes}
        return Params(values, self.params_file, self.ignored, self.script, self.notes)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict in :data:`OPTIONS` order, ready for ``yaml.safe_dump``."""
        return dict(self._values)


# --------------------------------------------------------------------------------------------
# Script specs and parsing


@dataclass(frozen=True)
class ScriptSpec:
    """What a script takes: its name, description, the options it uses (names in
    :data:`OPTIONS`), its own defaults for some of them, and cross-option checks, each a
    function ``check(params) -> None`` that raises ParamError."""

    name: str
    description: str
    options: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    checks: tuple[Callable[[Params], None], ...] = ()
    #: Other names this script accepts for its options, in files and on the command line
    #: (the original code's names: ``environment`` for ``env_name``); alias -> option.
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "checks", tuple(self.checks))
        unknown = [n for n in self.options if n not in OPTIONS]
        unknown += [n for n in self.defaults if n not in self.options]
        unknown += [n for n in self.aliases.values() if n not in self.options]
        unknown += [a for a in self.aliases if a in OPTIONS]  # an alias may not hide an option
        if unknown:
            raise ValueError(f"script {self.name}: unknown or unused options {unknown}")
        # In the catalogue's order, however the spec was put together: values are checked, and
        # a file with several bad values reported, in the order --help lists the options.
        object.__setattr__(self, "options", tuple(n for n in OPTIONS if n in self.options))


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises ParamError instead of printing usage and exiting with code 2."""

    def error(self, message: str) -> NoReturn:
        raise ParamError(f"{message} (run '{self.prog} --help' to see the options).")


def _help_text(option: Option, default: Any) -> str:
    if option.type is FLAG:
        suffix = " (on by default in this script)" if default else ""
    elif option.type is bool:
        suffix = f" (yes or no; default: {'yes' if default else 'no'})"
    elif option.default_help is not None:
        suffix = f" (default: {option.default_help})"
    else:
        suffix = f" (default: {default})"
    return (option.help + suffix).replace("%", "%%")


def _metavar(option: Option) -> str:
    if option.choices is not None:
        try:
            return "{" + ",".join(option.choice_names() or ()) + "}"
        except ImportError:  # the registry's module is missing; still show the help
            pass
    return option.name.upper()


def build_parser(spec: ScriptSpec) -> argparse.ArgumentParser:
    """The argparse parser of ``spec``: positional params_file, the spec's options in the
    seven groups. Every option defaults to "not given" (argparse.SUPPRESS)."""
    parser = _ArgumentParser(prog=spec.name, description=spec.description, allow_abbrev=False)
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    groups[PARAMS_FILE_GROUP].add_argument(
        "params_file", help="A yaml file with parameters (see folder params for examples)"
    )
    for name in OPTIONS:
        if name not in spec.options:
            continue
        option = OPTIONS[name]
        default = spec.defaults.get(name, option.default)
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": _help_text(option, default)}
        if option.type == FLAG:
            kwargs["action"] = "store_true"
        else:
            kwargs["metavar"] = _metavar(option)
        flags = [f"--{name}", *(f"--{a}" for a, n in spec.aliases.items() if n == name)]
        groups[option.group].add_argument(*flags, dest=name, **kwargs)
    return parser


def _source_text(source: str) -> str:
    return f" (from {source})"


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 200
_REPR.maxlevel = 3


def _show(value: Any) -> str:
    """repr(value), shortened: a YAML file's aliases can make a value whose full repr is huge."""
    return _REPR.repr(value)


def _fail(option: Option, value: Any, source: str, why: str | None = None) -> NoReturn:
    allowed = why or option.allowed()
    raise ParamError(f"{option.name} must be {allowed}, got {_show(value)}{_source_text(source)}.")


def _parse_bool(option: Option, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    _fail(option, value, source)


def _parse_int(option: Option, value: Any, source: str) -> int:
    result = _parse_int_unbounded(option, value, source)
    if abs(result) > MAX_INT:  # huge ints overflow float arithmetic, numpy and torch
        _fail(option, value, source, f"{option.allowed()} (at most 2**63 - 1)")
    return result


def _parse_int_unbounded(option: Option, value: Any, source: str) -> int:
    if isinstance(value, bool):
        _fail(option, value, source)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:  # "1e3" (PyYAML reads exponents without a dot as strings)
            number = float(text)
        except ValueError:
            _fail(option, value, source)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    _fail(option, value, source)


def _parse_float(option: Option, value: Any, source: str) -> float:
    if isinstance(value, bool):
        _fail(option, value, source)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            _fail(option, value, source, "a finite number" + option._bounds_text())
    elif isinstance(value, str):
        try:  # PyYAML reads 1e-2 as the string "1e-2"
            number = float(value.strip())
        except ValueError:
            _fail(option, value, source)
    else:
        _fail(option, value, source)
    if not math.isfinite(number):
        _fail(option, value, source, "a finite number" + option._bounds_text())
    return number


def _check_bounds(option: Option, number: float, raw: Any, source: str) -> None:
    low, high = option.minimum, option.maximum
    too_low = low is not None and (number <= low if option.min_exclusive else number < low)
    too_high = high is not None and (number >= high if option.max_exclusive else number > high)
    if too_low or too_high:
        _fail(option, raw, source)


def coerce_value(option: Option, value: Any, source: str) -> Any:
    """``value`` as ``option``'s type, checked against its bounds and choices.

    ``source`` says where the value came from ("params/x.yaml", "the command line") for the
    error message.
    """
    if value is None:
        if option.nullable:
            return None
        _fail(option, value, source)
    if option.type in (bool, FLAG):
        return _parse_bool(option, value, source)
    if option.type is int:
        result = _parse_int(option, value, source)
    elif option.type is float:
        result = _parse_float(option, value, source)
    else:
        if not isinstance(value, str):
            _fail(option, value, source)
        result = value
        if option.check is not None:
            try:
                option.check(result)
            except ValueError as err:
                raise ParamError(
                    f"{option.name} must be {option.allowed()}, got {_show(result)}"
                    f"{_source_text(source)} ({err})."
                ) from None
        names = option.choice_names()
        if names is not None and result not in names:
            suggestion = difflib.get_close_matches(result, names, n=1)
            hint = f" Did you mean {suggestion[0]!r}?" if suggestion else ""
            raise ParamError(
                f"{option.name} must be {option.allowed()}, got {_show(result)}"
                f"{_source_text(source)}.{hint}"
            )
        return result
    _check_bounds(option, result, value, source)
    return result


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    if not isinstance(node, yaml.MappingNode):  # "!!map [a]": construct_mapping refuses it
        return loader.construct_mapping(node, deep=deep)
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *anchor"; construct_mapping merges
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found unhashable key", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_params_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping stored in the YAML file ``path``; an empty file is an empty mapping."""
    path = Path(path)
    try:
        if not path.is_file():
            what = (
                "is a folder, not a file"
                if path.is_dir()
                else "is not a regular file"
                if path.exists()
                else "does not exist"
            )
            hint = ""
            if path.name == "params.yaml" and (path.parent / RECORD_FILE).is_file():
                hint = (
                    f" {str(path.parent)!r} holds a run that was stopped before it wrote its "
                    f"params.yaml: start it again with the parameter file it was started with "
                    f"(and the same options), or give that file with --resume "
                    f"{str(path.parent)!r}."
                )
            raise ParamError(
                f"The parameter file {str(path)!r} {what}; give the path of a YAML file.{hint}"
            )
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError) as err:  # also a name too long, a folder not readable
        raise ParamError(f"The parameter file {str(path)!r} cannot be read: {err}") from None
    except RecursionError:
        raise ParamError(
            f"The parameter file {str(path)!r} is not valid YAML: it is nested too deeply."
        ) from None
    except yaml.YAMLError as err:
        detail = " ".join(str(err).split())
        raise ParamError(f"The parameter file {str(path)!r} is not valid YAML: {detail}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as err:
        # PyYAML's constructors let the errors of some bad scalars through: "2020-13-45",
        # "!!int abc", "!!int ''", "!!bool x", "!!timestamp x", an integer of more than 4300
        # digits.
        detail = "a value cannot be read (" + " ".join(str(err).split()) + ")"
        raise ParamError(f"The parameter file {str(path)!r} is not valid YAML: {detail}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamError(
            f"The parameter file {str(path)!r} must be a YAML mapping of 'name: value' lines, "
            f"but it holds a {type(data).__name__}."
        )
    return data


def _unknown_key_error(key: Any, spec: ScriptSpec, source: str, cli: bool = False) -> NoReturn:
    name = str(key)
    prefix = "--" if cli else ""
    close = difflib.get_close_matches(name, list(OPTIONS), n=3, cutoff=0.6)
    alias = ALIASES.get(name.lower().lstrip("-"))
    if alias is not None and alias in spec.options:
        close = [alias, *(c for c in close if c != alias)][:3]
    hint = f" Did you mean {' or '.join(repr(prefix + c) for c in close)}?" if close else ""
    valid = ", ".join(prefix + n for n in OPTIONS if n in spec.options)
    what = "option" if cli else "parameter"
    raise ParamError(
        f"Unknown {what} {prefix + name!r}{_source_text(source)}.{hint} "
        f"The {what}s of {spec.name} are: {valid}."
    )


def _parse_command_line(spec: ScriptSpec, argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser(spec)
    namespace, extra = parser.parse_known_args(list(argv))
    if extra:
        first = extra[0]
        name = first[2:].split("=", 1)[0] if first.startswith("--") else None
        if name is None or name in spec.options:  # an option of the script after "--"
            raise ParamError(
                f"Unexpected argument {first!r} on the command line; {spec.name} takes one "
                f"parameter file followed by '--name value' options (see --help)."
            )
        if name in OPTIONS:
            raise ParamError(
                f"Option --{name} (from the command line) is not used by {spec.name}. "
                f"The options of {spec.name} are: "
                f"{', '.join('--' + n for n in OPTIONS if n in spec.options)}."
            )
        _unknown_key_error(name, spec, "the command line", cli=True)
    return namespace


def parse_params(spec: ScriptSpec, argv: Sequence[str]) -> Params:
    """Parse ``argv`` (without the program name) for the script ``spec``.

    Defaults, then the YAML file (``argv``'s positional argument), then the command-line
    options; every value is validated and the spec's checks are run. Raises ParamError.
    ``--help`` prints the help and raises SystemExit(0).
    """
    namespace = _parse_command_line(spec, argv)
    params_file = namespace.params_file
    file_values = read_params_file(params_file)

    # value and where it came from, per option of this script
    merged: dict[str, tuple[Any, str]] = {}
    for name in spec.options:
        default = spec.defaults.get(name, OPTIONS[name].default)
        merged[name] = (default, f"the defaults of {spec.name}")

    ignored = []
    for key, value in file_values.items():
        if key in spec.aliases:
            name = spec.aliases[key]
            if name in file_values:
                raise ParamError(
                    f"{key} is another name of {name}, and {params_file!r} gives both; keep "
                    f"one of them."
                )
            key = name
        if key not in OPTIONS:
            _unknown_key_error(key, spec, params_file)
        if key in spec.options:
            merged[key] = (value, params_file)
        else:
            ignored.append(key)

    for name, value in vars(namespace).items():
        if name != "params_file":
            merged[name] = (value, "the command line")

    values = {}
    for name, (value, source) in merged.items():
        option = OPTIONS[name]
        values[name] = coerce_value(option, value, source)
        if values[name] is None and option.default_factory is not None:
            values[name] = option.default_factory()

    notes = _fit_tournament_to_population(values, merged)
    params = Params(values, params_file=params_file, ignored=ignored, script=spec.name, notes=notes)
    for check in spec.checks:
        check(params)
    return params


def _fit_tournament_to_population(values: dict, merged: dict) -> list[str]:
    """Lower a parameter file's tournament_size that no longer fits a breeding pool made
    smaller on the command line (``--population_size 8`` on a file made for 480 networks).

    A tournament_size given on the command line, or a file inconsistent in itself, is left for
    check_tournament_fits to refuse. Returns notes for the log.
    """
    if "tournament_size" not in values or merged["tournament_size"][1] == "the command line":
        return []
    if "cull_ratio" not in values:  # not an NSGA-II search (run-harlow-baldwin.py)
        return []
    if not any(merged[n][1] == "the command line" for n in ("population_size", "cull_ratio")):
        return []
    pool = breeding_pool_size(values["population_size"], values["cull_ratio"])
    if values["tournament_size"] <= pool or pool < 1:
        return []
    note = (
        f"tournament_size {values['tournament_size']} of {merged['tournament_size'][1]} is "
        f"larger than the breeding pool of the population given on the command line "
        f"({pool} networks): tournaments use {pool} networks."
    )
    values["tournament_size"] = pool
    return [note]
