"""The documentation's claims that a machine can check, against a real small run of each script.

- the files of each script's run folder and the columns of its results_summary.csv (the table
  in docs/outputs.md);
- the tensorboard tags of each script (the table of tags in docs/outputs.md);
- every option of each script's ``--help`` is in docs/options.md, the page's default is the
  option's, and ``--help`` shows the script's own default.
"""

import csv
import itertools
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, read_scalars, run_script

from evolearn.experiment.options import OPTIONS
from evolearn.scripts import script_specs
from evolearn.testing import SMALL_RUNS

OUTPUTS = (REPO / "docs" / "outputs.md").read_text()
OPTIONS_PAGE = (REPO / "docs" / "options.md").read_text()
SPECS = script_specs()

RUNS = SMALL_RUNS


def table_row(first_cell: str, width: int, page: str = OUTPUTS) -> list[str]:
    """The cells of the ``page`` table row of ``width`` cells that starts with ``first_cell``."""
    rows = [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for line in page.splitlines()
        if line.startswith(f"| {first_cell} |")
    ]
    rows = [row for row in rows if len(row) == width]
    assert len(rows) == 1, f"one row of {width} cells for {first_cell}, found {len(rows)}"
    return rows[0]


def names(cell: str) -> list[str]:
    """The `quoted` names of a table cell, with ``a/{b,c}`` expanded to ``a/b``, ``a/c``."""
    found = []
    for name in re.findall(r"`([^`]+)`", cell):
        if "..." in name or "*" in name:  # a pattern, not a name
            continue
        parts = re.split(r"\{([^}]*)\}", name)
        choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
        found += ["".join(combo) for combo in itertools.product(*choices)]
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folders = {}
    for script, args in RUNS.items():
        out = tmp_path_factory.mktemp("run") / script.removesuffix(".py")
        result = run_script(script, *args, "--out_dir", str(out))
        assert result.returncode == 0, result.stderr
        folders[script] = out
    return folders


@pytest.mark.slow
@pytest.mark.parametrize("script", RUNS)
def test_the_run_folder_holds_the_files_and_columns_the_readme_names(runs, script):
    _, files, columns = table_row(script, 3)
    out = runs[script]
    assert sorted(names(files)) == sorted(p.name for p in out.iterdir())
    with (out / "results_summary.csv").open(newline="") as f:
        assert next(csv.reader(f)) == names(columns)


@pytest.mark.slow
@pytest.mark.parametrize("script", RUNS)
def test_the_run_writes_the_tensorboard_tags_the_readme_names(runs, script):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(runs[script] / "tensorboard_summary"))
    events.Reload()
    written = set(read_scalars(runs[script])) | set(events.Tags()["histograms"])
    claimed = set(names(table_row(script, 2)[1]))
    if script != "run-wlnn-mnist-no-evolution.py":
        claimed |= set(names(table_row("all evolution scripts", 2)[1]))
    assert claimed, script
    # Every tag the page names is written (the runs test their champion at the end).
    assert sorted(claimed - written) == []
    text_tags = events.Tags()["tensors"]
    assert "params/text_summary" in text_tags and "`params/text_summary`" in OUTPUTS


def help_defaults(script: str) -> dict[str, str]:
    """option -> the default its ``--help`` line shows ("on" for a flag that is on)."""
    text = subprocess.run(
        [sys.executable, str(REPO / script), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "1000"},
    ).stdout
    shown = {}
    for name, rest in re.findall(r"^\s+--(\w+)(?: \S+)?\s+(.*)$", text, re.M):
        default = re.search(r"\(default: (.*)\)$", rest)
        yes_no = re.search(r"\(yes or no; default: (yes|no)\)$", rest)
        if yes_no:
            shown[name] = yes_no.group(1)
        elif default:
            shown[name] = default.group(1)
        else:
            shown[name] = "on" if "on by default" in rest else "off"
    return shown


def formatted(option, value) -> str:
    if option.type == "flag":
        return "on" if value else "off"
    if option.type is bool:
        return "yes" if value else "no"
    if option.default_help is not None and value is None:
        return option.default_help
    return str(value)


@pytest.mark.parametrize("script", RUNS)
def test_help_shows_every_option_with_the_scripts_default_and_the_docs_list_it(script):
    spec = SPECS[script]
    shown = help_defaults(script)
    assert sorted(shown) == sorted(spec.options)
    for name in spec.options:
        option = OPTIONS[name]
        _, type_, default, scripts, _ = table_row(f"`--{name}`", 5, OPTIONS_PAGE)
        assert type_ == (option.type if isinstance(option.type, str) else option.type.__name__)
        page_default = option.default_help or formatted(option, option.default)
        assert default == f"`{page_default}`", name
        expected = formatted(option, spec.defaults.get(name, option.default))
        assert shown[name] == expected, (script, name)
        if name in spec.defaults:
            assert f"{script} ({expected})" in scripts, (script, name)
        else:
            assert script in scripts.split(", "), (script, name)
