"""python -m evolearn.plot and python -m evolearn.random_networks, as a user runs them."""

import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def tool(module, *args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
        cwd=cwd, timeout=600,
    )  # fmt: skip


def test_plot_makes_every_figure_and_table_of_the_runs(tiny_runs, tmp_path):
    out = tmp_path / "figures"
    runs = [tiny_runs[name] for name in ("bp", "hebb", "swing", "digits")]
    result = tool(
        "evolearn.plot", *runs, "--out", out, "--connections", 970, 990, 1010,
        "--num_networks", 2, "--curves", 1, 3, "--curve_networks", 2, "--epochs", 2,
        "--num_workers", 2,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    expected = {"evolution", "wann-evolution-swing", "wann-evolution-digits", "degrees",
                "random_networks", "learning_curves"}  # fmt: skip
    assert {f"{name}.{fmt}" for name in expected for fmt in ("png", "pdf")} <= names
    assert {
        "architecture.csv",
        "architecture.md",
        "random_networks.csv",
        "learning_curves.csv",
    } <= names
    assert {f"drawings/champion-{n}.svg" for n in ("bp", "hebb", "swing", "digits")} <= names
    assert ".evolearn-outputs" in names

    architecture = pd.read_csv(out / "architecture.csv")
    assert architecture["run"].tolist() == ["bp", "hebb", "swing", "digits"]
    assert architecture["generation"].tolist() == [3, 3, 3, 4]  # the last saved
    assert "| bp | backprop | 3 | 10 |" in (out / "architecture.md").read_text()

    control = pd.read_csv(out / "random_networks.csv")
    random = control[control["kind"] == "random"]
    assert len(random) == 2 * 3 * 2  # two WLNN runs x 3 counts x 2 networks; WANN runs left out
    assert sorted(set(random["target_connections"])) == [970, 990, 1010]
    assert (random["connections"] == random["target_connections"]).all()
    champions = control[control["kind"] == "champion"]
    assert champions["generation"].tolist() == [3, 3]  # each run tested its champion at the end

    curves = pd.read_csv(out / "learning_curves.csv")
    assert len(curves) == 2 * 2 * 2 * 2  # runs x generations x networks x epochs
    assert sorted(set(curves["epoch"])) == [1, 2]

    # the same command again writes over its own files
    again = tool("evolearn.plot", tiny_runs["bp"], "--out", out)
    assert again.returncode == 0, again.stderr


def test_random_networks_are_the_same_for_the_same_seed_whatever_the_workers(tiny_runs, tmp_path):
    tables = []
    pools = (("--num_workers", 1), ("--num_workers", 2), ("--scheduler", "local:2"))
    for (option, value), folder in zip(pools, "abc", strict=True):
        result = tool(
            "evolearn.random_networks", tiny_runs["hebb"], "--connections", 980, 1000,
            "--num_networks", 2, "--epochs", 1, option, value, "--out", tmp_path / folder,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        tables.append(pd.read_csv(tmp_path / folder / "random_networks.csv"))
        assert (tmp_path / folder / "random_networks.png").is_file()
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])
    assert "Dask cluster" in result.stdout


def test_a_scheduler_that_cannot_be_reached_stops_the_command_before_it_writes(tiny_runs, tmp_path):
    out, missing = tmp_path / "figures", tmp_path / "scheduler.json"
    result = tool(
        "evolearn.plot", tiny_runs["bp"], "--out", out, "--connections", 990, "--num_networks", 1,
        "--scheduler", missing,
    )  # fmt: skip
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_file_of_someone_else_in_the_way_stops_the_command_before_it_writes(tiny_runs, tmp_path):
    out = tmp_path / "figures"
    out.mkdir()
    (out / "architecture.md").write_text("my notes")
    result = tool("evolearn.plot", tiny_runs["bp"], "--out", out)
    assert result.returncode == 2
    assert "architecture.md" in result.stderr and "Traceback" not in result.stderr
    assert (out / "architecture.md").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["architecture.md"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/run", "--out", "x"], "neither a run folder nor a network JSON file"),
        (["REPO", "--out", "x"], "not a run folder"),
        (["swing", "--out", "x", "--connections", "50"], "needs run-wlnn-mnist.py runs"),
        (["bp", "--out", "x", "--curves", "7"], "saved no networks of generation(s) [7]"),
        (["bp", "--out", "x", "--connections", "0"], "must be at least 1"),
    ],
)
def test_bad_input_is_a_clear_error(tiny_runs, tmp_path, args, message):
    args = [str(tiny_runs.get(a, a)) if a != "REPO" else str(REPO) for a in args]
    args = [str(tmp_path / "x") if a == "x" else a for a in args]
    result = tool("evolearn.plot", *args)
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_network_file_is_drawn_with_its_tasks_names(tiny_runs, tmp_path):
    champion = tiny_runs["swing"] / "champion.json"
    result = tool("evolearn.plot", champion, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "drawings" / "champion.svg").read_text()
    for name in ("cart position", "cart velocity", "cos(pole angle)", "sin(pole angle)",
                 "pole angular velocity", "force"):  # fmt: skip
        assert name in svg


def files_in(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_plotting_again_replaces_the_files_of_the_earlier_call_and_no_one_elses(
    tiny_runs, tmp_path
):
    out = tmp_path / "figures"
    first = tool("evolearn.plot", tiny_runs["bp"], tiny_runs["swing"], "--out", out)
    assert first.returncode == 0, first.stderr
    # the summary once: no retraining, so no line for the figures without it
    assert len(re.findall(r"\bfiles\b.* in \d+\.\d s", first.stdout)) == 1, first.stdout
    earlier = files_in(out)
    assert {"wann-evolution-swing.png", "drawings/champion-swing.svg"} <= earlier
    (out / "notes.txt").write_text("mine")
    (out / "drawings" / "mine.svg").write_text("<svg/>")
    control = tool(
        "evolearn.random_networks", tiny_runs["bp"], "--connections", 1000, "--num_networks", 1,
        "--epochs", 1, "--out", out,
    )  # fmt: skip
    assert control.returncode == 0, control.stderr

    again = tool("evolearn.plot", tiny_runs["bp"], "--out", out)
    assert again.returncode == 0, again.stderr
    names = files_in(out)
    assert not [name for name in names if "swing" in name]
    assert {"evolution.png", "degrees.pdf", "drawings/champion-bp.svg"} <= names
    assert {"notes.txt", "drawings/mine.svg"} <= names  # the user's files stay
    assert {"random_networks.csv", "random_networks.png"} <= names  # random_networks's stay
    assert (out / "notes.txt").read_text() == "mine"
    removed = [line.strip() for line in again.stdout.splitlines() if "swing" in line]
    assert sorted(removed) == sorted(
        str(out / name) for name in earlier if "swing" in name
    )  # each removed file is named
    # the record lists exactly the tools' files now there
    record = (out / ".evolearn-outputs").read_text().split()
    assert sorted(record) == sorted(names - {"notes.txt", "drawings/mine.svg", ".evolearn-outputs"})


def test_a_count_below_the_runs_networks_is_refused_with_the_smallest_possible(tiny_runs, tmp_path):
    out = tmp_path / "control"
    result = tool(
        "evolearn.random_networks", tiny_runs["hebb"], "--connections", 500, 1000,
        "--num_networks", 1, "--epochs", 1, "--out", out,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith(f"error: --connections 500 is too few for run {tiny_runs['hebb']}:")
    assert "never fewer than 640" in message and "the smallest count possible is about" in message
    assert "Traceback" not in result.stderr
    assert not out.exists()
