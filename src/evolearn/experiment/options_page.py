"""The Options page of the documentation, made from the option catalogue.

    python -m evolearn.experiment.options_page > docs/options.md

``docs/options.md`` is this module's output and nothing else: a test fails when it differs,
so an option added to (or changed in) :mod:`evolearn.experiment.options` or a script's spec
shows up in the page by running the command above.
"""

from __future__ import annotations

import sys

from evolearn.experiment.options import FALSE_WORDS, FLAG, GROUPS, OPTIONS, TRUE_WORDS, Option
from evolearn.scripts import script_specs

COMMAND = "python -m evolearn.experiment.options_page > docs/options.md"

INTRO = f"""\
# Options

<!-- Made by `{COMMAND}`
     from src/evolearn/experiment/options.py and the scripts' specs; do not edit by hand:
     tests/test_docs.py fails when this page is stale. -->

Every option of every script, in the groups of the thesis's scripts. Each script is run as
`python SCRIPT PARAMS.yaml [--option value ...]`: the YAML file comes first, options on the
command line override it, and `python SCRIPT --help` lists the options that script uses with
its defaults. The thesis's options are all here, with their groups and help texts, plus
`--seed`, `--data_dir`, `--num_hidden`, `--checkpoint_every`, `--save_every`, `--resume`,
`--test_every` (YAML-only in the thesis), `--scheduler`, `--bias_input`,
`--output_activation` and `--hidden_activations`.

- **Defaults**: the *default* column is the toolkit's; the *scripts* column names the scripts
  that use the option, with a script's own default where it has one. The thesis's values are
  in the parameter files under `params/`.
- **Booleans** take a value (`{"/".join(TRUE_WORDS)}`, `{"/".join(FALSE_WORDS)}`); options of
  type *flag* take none on the command line (in YAML: `true`/`false`).
- **Unknown keys**: a key in a parameter file that the toolkit does not know stops the run
  with the closest valid names; a known key that a script does not use is reported in the log
  and ignored, so that the thesis's parameter files work as they are.
- **Bad values** (a wrong type, a probability outside [0, 1], mutation probabilities that do
  not sum to 1, a tournament larger than the breeding pool, an unknown dataset, learning rule,
  optimizer or evaluation period, ...) give a one-line error naming the parameter and what is
  allowed, exit code 2, and leave no output folder behind. One exception: a parameter file's
  `tournament_size` that no longer fits a population made smaller on the command line
  (`--population_size 8` with a file made for 480 networks) is lowered to the breeding pool,
  with a note in the log; a `--tournament_size` given on the command line, or a file that does
  not fit itself, is an error.
"""


def cell(text: str) -> str:
    """``text`` as the content of a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def type_name(option: Option) -> str:
    return option.type if isinstance(option.type, str) else option.type.__name__


def shown_value(option: Option, value) -> str:
    """A default as the page shows it (the words of --help for booleans)."""
    if option.type == FLAG:
        return "on" if value else "off"
    if option.type is bool:
        return "yes" if value else "no"
    if value is None and option.default_help is not None:
        return option.default_help
    return str(value)


def default_text(option: Option) -> str:
    """The catalogue's default of ``option`` as the *default* column shows it."""
    return option.default_help if option.default_help else shown_value(option, option.default)


def scripts_text(name: str, specs) -> str:
    """The scripts that use option ``name``, each with its own default where it has one."""
    option = OPTIONS[name]
    used = []
    for script, spec in specs.items():
        if name not in spec.options:
            continue
        if name in spec.defaults:
            used.append(f"{script} ({shown_value(option, spec.defaults[name])})")
        else:
            used.append(script)
    return ", ".join(used)


def render() -> str:
    """The whole Options page."""
    specs = script_specs()
    lines = [INTRO]
    for group in GROUPS:
        names = [name for name, option in OPTIONS.items() if option.group == group]
        if not names:
            continue
        lines += [f"## {group}", "", "| option | type | default | scripts | meaning |"]
        lines.append("|---|---|---|---|---|")
        for name in names:
            option = OPTIONS[name]
            lines.append(
                f"| `--{name}` | {type_name(option)} | `{cell(default_text(option))}` "
                f"| {cell(scripts_text(name, specs)) or '(none)'} | {cell(option.help)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
