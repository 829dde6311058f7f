"""The run folder (params.yaml, log.txt, tensorboard) and the scripts' entry point."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from evolearn.errors import DataError, ParamError, UserError
from evolearn.experiment.cli import format_error, main_wrapper
from evolearn.experiment.console import QuietProgress
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.run import LOGGER_NAME, Run


def make_params(out_dir, overwrite=False, ignored=()) -> Params:
    values = {
        "population_size": 8,
        "lr": 0.01,
        "use_cuda": False,
        "out_dir": str(out_dir),
        "overwrite_output": overwrite,
    }
    return Params(values, params_file="params/x.yaml", ignored=ignored, script="run-test.py")


def read_events(out_dir) -> EventAccumulator:
    events = EventAccumulator(str(out_dir / "tensorboard_summary"), size_guidance={"tensors": 0})
    events.Reload()
    return events


# --------------------------------------------------------------------------------------------
# folder contents


def test_run_folder_holds_params_log_and_tensorboard_events(tmp_path, capsys):
    out_dir = tmp_path / "runs" / "a"
    params = make_params(out_dir, ignored=["env_name"])
    with Run.create(params) as run:
        run.log("generation 1: best reward 1.5")
        run.scalar("best/reward", 1.5, 1)
        run.scalar("best/reward", 2.5, 2)
        run.histogram("population/acc", [0.1, 0.2, 0.3], 1)
        run.mark_started()
        assert run.path("net.json") == out_dir / "net.json"

    stored = yaml.safe_load((out_dir / "params.yaml").read_text())
    assert stored == {k: v for k, v in params.to_dict().items() if k not in ("out_dir", "resume")}

    log = (out_dir / "log.txt").read_text()
    lines = log.splitlines()
    assert lines[0] == "run-test.py"
    assert any(line.startswith("CPU cores: ") for line in lines)
    assert any(line.startswith("CUDA devices: ") for line in lines)
    for name, value in params.items():
        assert f"  {name}: {value}" in lines
    assert "ignored: env_name" in log
    assert lines[-1] == "generation 1: best reward 1.5"
    assert log == capsys.readouterr().out  # the log file is what the console showed

    events = read_events(out_dir)
    assert [(e.step, e.value) for e in events.Scalars("best/reward")] == [(1, 1.5), (2, 2.5)]
    assert "population/acc" in events.Tags()["histograms"]
    table = events.Tensors("params/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.startswith("|param|value|\n|-|-|\n")
    assert "|lr|0.01|" in table and "|population_size|8|" in table


def test_closing_detaches_the_log_file(tmp_path):
    logger = logging.getLogger(LOGGER_NAME)
    handlers_before = list(logger.handlers)
    with Run.create(make_params(tmp_path / "a")) as run:
        assert len(logger.handlers) == len(handlers_before) + 2
    assert logger.handlers == handlers_before
    run.log("after the run")
    assert "after the run" not in (tmp_path / "a" / "log.txt").read_text()
    run.close()  # a second close is harmless


def test_existing_empty_folder_is_used(tmp_path):
    out_dir = tmp_path / "a"
    out_dir.mkdir()
    with Run.create(make_params(out_dir)):
        pass
    assert (out_dir / "params.yaml").is_file()


# --------------------------------------------------------------------------------------------
# existing folders


def test_existing_folder_without_overwrite_is_refused_and_left_untouched(tmp_path):
    out_dir = tmp_path / "a"
    out_dir.mkdir()
    (out_dir / "log.txt").write_text("old log")
    (out_dir / "mine.txt").write_text("mine")
    with pytest.raises(ParamError, match="exists.*--overwrite_output.*or choose another --out_dir"):
        Run.create(make_params(out_dir))
    assert sorted(p.name for p in out_dir.iterdir()) == ["log.txt", "mine.txt"]
    assert (out_dir / "log.txt").read_text() == "old log"


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "a"
    path.write_text("x")
    with pytest.raises(ParamError, match="not a folder"):
        Run.create(make_params(path, overwrite=True))
    assert path.read_text() == "x"


def test_overwrite_removes_exactly_what_the_earlier_run_wrote(tmp_path):
    out_dir = tmp_path / "a"
    with Run.create(make_params(out_dir)) as run:
        run.log("the earlier run")
        run.scalar("best/reward", 1.0, 1)
        run.path("champion.json").write_text("{}")
        run.path("champions/gen-00001.json").write_text("{}")
        run.path("networks/gen-00100/net-000.json").write_text("{}")
        run.path("results_summary.csv").write_text("a,b")
        run.record("checkpoint.npz", "checkpoint.npz.tmp")
        (out_dir / "checkpoint.npz").write_text("old")
        run.mark_started()
    # The user's files, some named like a run's
    (out_dir / "notes.json").write_text("keep me")
    (out_dir / "checkpoints_old").mkdir()
    (out_dir / "checkpoints_old" / "gen-5.pkl").write_text("keep me too")
    (out_dir / "champions" / "favourite.json").write_text("mine")
    (out_dir / "tensorboard_summary" / "events.out.tfevents.mine").write_text("mine")

    with Run.create(make_params(out_dir, overwrite=True)) as run:
        run.log("new run")

    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        ".evolearn-outputs",
        "champions",
        "checkpoints_old",
        "log.txt",
        "notes.json",
        "params.yaml",
        "tensorboard_summary",
    ]
    assert (out_dir / "notes.json").read_text() == "keep me"
    assert (out_dir / "checkpoints_old" / "gen-5.pkl").read_text() == "keep me too"
    assert [p.name for p in (out_dir / "champions").iterdir()] == ["favourite.json"]
    assert not (out_dir / "networks").exists()  # emptied, so removed
    events = sorted(p.name for p in (out_dir / "tensorboard_summary").iterdir())
    assert len(events) == 2 and "events.out.tfevents.mine" in events  # the new run's and mine
    assert "the earlier run" not in (out_dir / "log.txt").read_text()


def test_overwrite_of_a_folder_of_an_older_run_without_a_record_removes_nothing(tmp_path):
    out_dir = tmp_path / "a"
    out_dir.mkdir()
    (out_dir / "log.txt").write_text("old log")
    (out_dir / "champion.json").write_text("{}")
    with pytest.raises(ParamError, match="which no run recorded as its own"):
        Run.create(make_params(out_dir, overwrite=True))
    assert sorted(p.name for p in out_dir.iterdir()) == ["champion.json", "log.txt"]


def test_a_record_never_leads_outside_the_run_folder(tmp_path):
    from evolearn.experiment.outputs import RECORD_FILE, remove_recorded

    folder, outside = tmp_path / "run", tmp_path / "precious.txt"
    folder.mkdir()
    outside.write_text("keep")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.json").write_text("keep")
    (folder / "link").symlink_to(tmp_path / "elsewhere")
    (folder / "log.txt").write_text("a run's")
    records = ["log.txt", "../precious.txt", str(outside), "link/x.json"]
    (folder / RECORD_FILE).write_text("\n".join(records) + "\n")
    removed = remove_recorded(folder)
    assert removed == [folder / "log.txt"]
    assert outside.read_text() == "keep" and (tmp_path / "elsewhere" / "x.json").exists()


# --------------------------------------------------------------------------------------------
# failures


def test_user_error_before_mark_started_removes_the_created_folder(tmp_path):
    out_dir = tmp_path / "a"
    with pytest.raises(DataError), Run.create(make_params(out_dir)) as run:
        run.log("loading data")
        raise DataError("MNIST is missing")
    assert not out_dir.exists()
    assert tmp_path.exists()


def test_a_failed_start_in_its_own_new_folder_keeps_files_put_there_meanwhile(tmp_path):
    out_dir = tmp_path / "a"
    with pytest.raises(DataError), Run.create(make_params(out_dir)):
        (out_dir / "notes.md").write_text("written while the run started")
        raise DataError("MNIST is missing")
    assert [p.name for p in out_dir.iterdir()] == ["notes.md"]


def test_overwrite_refuses_a_folder_whose_run_files_no_run_recorded(tmp_path):
    out_dir = tmp_path / "a"
    out_dir.mkdir()
    (out_dir / "champion.json").write_text("my own champion")
    with pytest.raises(ParamError, match="champion.json, which no run recorded"):
        Run.create(make_params(out_dir, overwrite=True))
    assert (out_dir / "champion.json").read_text() == "my own champion"


def test_user_error_before_mark_started_in_a_given_folder_keeps_foreign_files(tmp_path):
    out_dir = tmp_path / "a"
    out_dir.mkdir()
    (out_dir / "notes.md").write_text("keep me")
    with pytest.raises(DataError), Run.create(make_params(out_dir, overwrite=True)):
        raise DataError("MNIST is missing")
    assert [p.name for p in out_dir.iterdir()] == ["notes.md"]


def test_user_error_after_mark_started_keeps_the_folder_and_logs_the_error(tmp_path):
    out_dir = tmp_path / "a"
    with pytest.raises(UserError), Run.create(make_params(out_dir)) as run:
        run.mark_started()
        raise UserError("disk full")
    assert "error: disk full" in (out_dir / "log.txt").read_text()


def test_a_bug_keeps_the_folder_with_the_traceback_in_the_log(tmp_path):
    out_dir = tmp_path / "a"
    with pytest.raises(ZeroDivisionError), Run.create(make_params(out_dir)):
        1 / 0  # noqa: B018
    log = (out_dir / "log.txt").read_text()
    assert "Traceback" in log and "ZeroDivisionError" in log
    assert (out_dir / "params.yaml").exists()


# --------------------------------------------------------------------------------------------
# progress bars


def test_progress_without_a_terminal_is_silent(tmp_path, capsys):
    with Run.create(make_params(tmp_path / "a")) as run:
        capsys.readouterr()
        bar = run.progress(3, desc="epoch")
        assert isinstance(bar, QuietProgress)
        bar.update(2)
        bar.set_postfix({"loss": 0.5})
        bar.close()
        assert bar.n == 2
        assert list(run.progress(["a", "b"], desc="files")) == ["a", "b"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --------------------------------------------------------------------------------------------
# cli.main_wrapper


def exit_code_of(main, argv=()) -> int:
    with pytest.raises(SystemExit) as info:
        main_wrapper(main, list(argv))
    return info.value.code


def test_user_error_exits_2_with_one_line_and_no_traceback(capsys):
    def main(argv):
        raise ParamError("lr must be a number > 0, got 'abc' (from params/x.yaml). " * 4)

    assert exit_code_of(main) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: lr must be a number > 0")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_main_return_value_is_the_exit_code():
    assert exit_code_of(lambda argv: None) == 0
    assert exit_code_of(lambda argv: 3) == 3


def test_main_gets_the_given_arguments_even_when_empty(monkeypatch):
    monkeypatch.setattr("sys.argv", ["script.py", "from-sys-argv"])
    seen = []
    exit_code_of(seen.append, [])
    exit_code_of(seen.append, ["a"])
    with pytest.raises(SystemExit):
        main_wrapper(seen.append)
    assert seen == [[], ["a"], ["from-sys-argv"]]


def test_keyboard_interrupt_exits_130(capsys):
    def main(argv):
        raise KeyboardInterrupt

    assert exit_code_of(main) == 130
    assert "interrupted" in capsys.readouterr().err


def test_format_error_is_one_line_that_keeps_paths_whole(monkeypatch):
    path = "/a/very-long-folder-name/with-dashes/" * 3 + "and  two spaces in it/x.yaml"
    monkeypatch.setenv("COLUMNS", "40")
    text = format_error(ParamError(f"The parameter file {path}\n does not exist"))
    assert text == f"error: The parameter file {path} does not exist"


def test_a_script_with_a_missing_data_file_leaves_no_folder(tmp_path, capsys):
    spec = ScriptSpec("run-test.py", "", ("lr", "out_dir", "overwrite_output"))
    params_file = tmp_path / "p.yaml"
    params_file.write_text(f"out_dir: {tmp_path / 'out'}\n")

    def main(argv):
        params = parse_params(spec, argv)
        with Run.create(params) as run:
            run.log("loading data")
            raise DataError("MNIST files not found in /data")

    assert exit_code_of(main, [str(params_file)]) == 2
    assert "error: MNIST files not found in /data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_log_lines_go_through_an_open_progress_bar_and_console_false_only_to_the_file(
    tmp_path, capsys
):
    import sys

    from tqdm import tqdm

    out_dir = tmp_path / "a"
    with Run.create(make_params(out_dir)) as run:
        bar = tqdm(total=3, file=sys.stderr, desc="generations", mininterval=0)
        bar.update(1)
        before = capsys.readouterr()
        run.log("Generation 1/3: best reward 1.0")
        during = capsys.readouterr()
        # the bar (stderr) is cleared and drawn again around the line (stdout)
        assert during.out == "Generation 1/3: best reward 1.0\n"
        assert "\r" in during.err and "generations" in during.err and before.err
        bar.close()
        run.log("only in the file", console=False)
    assert "only in the file" not in capsys.readouterr().out
    log = (out_dir / "log.txt").read_text()
    assert "Generation 1/3: best reward 1.0" in log and "only in the file" in log


def test_a_restart_that_fails_before_its_first_result_keeps_the_run_resumable(tmp_path):
    out_dir = tmp_path / "a"
    with Run.create(make_params(out_dir)) as run:  # a start killed before its checkpoint
        run.log("the killed start")
    resume = Params(
        {**make_params(out_dir).to_dict(), "resume": str(out_dir)},
        params_file=str(out_dir / "params.yaml"),
        script="run-test.py",
    )
    with pytest.raises(DataError), Run.create(resume) as run:
        assert "starts again from the beginning" in (out_dir / "log.txt").read_text()
        raise DataError("MNIST is missing")  # before the first result
    assert sorted(p.name for p in out_dir.iterdir()) == [".evolearn-outputs", "params.yaml"]
    with Run.create(resume) as run:  # and the same command can start it again
        run.mark_started()
    assert (out_dir / "log.txt").is_file()


def test_a_resume_in_the_same_second_keeps_the_killed_runs_tensorboard_events(
    tmp_path, monkeypatch
):
    # tensorboardX names an event file by the second it opens it: a resume that starts in the
    # same second as the run it continues must not replace that run's file with its own.
    import tensorboardX.event_file_writer as event_file_writer

    from evolearn.experiment.checkpoint import save_checkpoint
    from evolearn.search.generations import Champion

    class OneSecond:
        @staticmethod
        def time():
            return 1_800_000_000.25

    monkeypatch.setattr(event_file_writer, "time", OneSecond)
    out_dir = tmp_path / "a"
    params = make_params(out_dir)
    with Run.create(params) as run:
        run.mark_started()
        for step in (1, 2, 3):
            run.scalar("best/reward", float(step), step)
        run.flush()
        champion = Champion(np.zeros(3), 2, 0, {"reward": 2.0})  # an evolution strategy's
        state = {"script": "run-test.py", "params": params.to_dict(), "generation": 2}
        save_checkpoint(out_dir, {**state, "champion": champion})
    resume = Params({**params.to_dict(), "resume": str(out_dir)}, script="run-test.py")
    with Run.create(resume) as run:
        assert run.resume_state["generation"] == 2
        run.scalar("best/reward", 30.0, 3)
    events = read_events(out_dir)
    assert [(e.step, e.value) for e in events.Scalars("best/reward")] == [
        (1, 1.0), (2, 2.0), (3, 30.0)
    ]  # fmt: skip
    assert len(list((out_dir / "tensorboard_summary").iterdir())) == 2


# --------------------------------------------------------------------------------------------
# one run per folder


def test_a_folder_in_use_is_refused_until_its_run_closes(tmp_path):
    out_dir = tmp_path / "run"
    with Run.create(make_params(out_dir)) as run:
        run.log("working")
        run.mark_started()
        before = sorted(p.name for p in out_dir.iterdir())
        for second in (
            make_params(out_dir, overwrite=True),  # would remove the run's files
            Params(
                {**make_params(out_dir).to_dict(), "resume": str(out_dir)}, script="run-test.py"
            ),
        ):
            with pytest.raises(ParamError, match="is in use"):
                Run.create(second)
        assert sorted(p.name for p in out_dir.iterdir()) == before  # nothing touched
        run.log("still working")
    assert "still working" in (out_dir / "log.txt").read_text()
    with Run.create(make_params(out_dir, overwrite=True)) as again:  # closed: free again
        again.log("the next run")
