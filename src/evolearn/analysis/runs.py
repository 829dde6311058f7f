"""A run folder as the analysis reads it: its parameters, tables and saved networks.

Only reads: nothing here writes into a run folder. A run that is still going can be read too
(a generation being appended to ``population.csv.bz2`` is left out).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from evolearn.errors import UserError
from evolearn.experiment.reporting import (
    POPULATION_TABLE_FILE,
    current_column_name,
    read_streams,
)
from evolearn.experiment.run import read_params_file
from evolearn.genome import Genome
from evolearn.network_io import load_genome

#: The thesis's colour of each learning rule, and how its figures name the rules.
RULE_COLOURS = {
    "backprop": "C0",
    "feedback_alignment": "C1",
    "hebbian": "C2",
    "last_layer": "C3",
}
RULE_LABELS = {
    "backprop": "backprop",
    "feedback_alignment": "feedback alignment",
    "hebbian": "Hebbian",
    "last_layer": "last-layer",
}

#: The kinds of evolution run: which script wrote the folder.
WLNN, WANN_CLASSIFICATION, WANN_GYM = "wlnn", "wann-classification", "wann-gym"
HEBBIAN = "hebbian"  # run-hebbian-gym.py: no population table, its champion is champion.npz
HARLOW = "harlow"  # run-harlow-baldwin.py: no population table, its champion is champion.npz


@dataclass(frozen=True)
class RunFolder:
    """The folder of one evolution run. Open with :meth:`open`."""

    path: Path
    params: dict

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """The run in ``path``; a UserError when it is no evolution run this version wrote."""
        path = Path(path)
        params_file = path / "params.yaml"
        if not params_file.is_file():
            raise UserError(f"{path} is not a run folder: it has no params.yaml")
        params = read_params_file(params_file)
        if (
            "hebb_rule" not in params
            and "inheritance" not in params
            and not (path / POPULATION_TABLE_FILE).is_file()
        ):
            raise UserError(
                f"{path} holds no {POPULATION_TABLE_FILE}: it is not the folder of an evolution "
                f"run (run-wlnn-mnist.py, run-wann-classification.py, run-wann-gym.py), or one "
                f"written by a version of the toolkit that did not keep that table"
            )
        return cls(path, params)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        """:data:`WLNN`, :data:`WANN_CLASSIFICATION`, :data:`WANN_GYM`, :data:`HEBBIAN` or
        :data:`HARLOW`."""
        if "hebb_rule" in self.params:
            return HEBBIAN
        if "inheritance" in self.params:
            return HARLOW
        if "env_name" in self.params:
            return WANN_GYM
        if "learning_rule" in self.params:
            return WLNN
        return WANN_CLASSIFICATION

    @property
    def rule(self) -> str | None:
        """The learning rule of a WLNN run."""
        return self.params.get("learning_rule") if self.kind == WLNN else None

    @property
    def label(self) -> str:
        """How figures name the run: its rule (WLNN) or task, and its folder."""
        if self.kind == WLNN:
            return f"{RULE_LABELS.get(self.rule, self.rule)} ({self.name})"
        if self.kind == HARLOW:
            return f"{self.params['inheritance']} ({self.name})"
        if self.kind == HEBBIAN:
            return f"{self.params['hebb_rule']} on {self.params['env_name']} ({self.name})"
        task = self.params.get("env_name") or self.params.get("dataset")
        return f"{task} ({self.name})"

    @cached_property
    def population(self) -> pd.DataFrame:
        """``population.csv.bz2``: one row per network per generation."""
        text = read_streams(self.path / POPULATION_TABLE_FILE)
        if not text.strip():
            raise UserError(f"{self.path / POPULATION_TABLE_FILE} holds no complete generation yet")
        return _current_names(pd.read_csv(io.StringIO(text)))

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``results_summary.csv``: one row per generation."""
        try:
            return _current_names(pd.read_csv(self.path / "results_summary.csv"))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise UserError(f"cannot read {self.path / 'results_summary.csv'}: {err}") from None

    def scalars(self, prefix: str = "") -> dict[str, list[tuple[int, float]]]:
        """The scalars of the run's tensorboard event files whose tag starts with ``prefix``:
        tag -> [(generation, value), ...] (every event file of the folder, in order: a resumed
        run's too)."""
        return read_scalars(self.path / "tensorboard_summary", prefix)

    def saved_generations(self) -> list[int]:
        """The generations whose every network is in ``networks/``."""
        folder = self.path / "networks"
        if not folder.is_dir():
            return []
        return sorted(
            int(p.name.removeprefix("gen-"))
            for p in folder.iterdir()
            if p.is_dir() and p.name.startswith("gen-") and p.name[4:].isdigit()
        )

    def network_files(self, generation: int) -> list[Path]:
        folder = self.path / "networks" / f"gen-{generation:05d}"
        files = sorted(folder.glob("net-*.json"))
        if not files:
            saved = ", ".join(map(str, self.saved_generations())) or "none"
            raise UserError(
                f"{self.path} has no saved networks of generation {generation} (saved: {saved}; "
                f"runs save every --save_every generations, the first and the last)"
            )
        return files

    def networks(self, generation: int) -> list[tuple[Genome, dict]]:
        """Every saved network of ``generation`` with its ``info`` (scores, index)."""
        return [
            (load_genome(path), json.loads(path.read_text()).get("info", {}))
            for path in self.network_files(generation)
        ]

    def champion_tests(self) -> pd.DataFrame:
        """The champion's test rows: generation, connections and the test scores (the
        generations at which the run tested its champion)."""
        summary = self.summary
        key = "champion_test_acc" if "champion_test_acc" in summary else None
        if key is None:
            key = next((c for c in summary.columns if c.startswith("champion_test_")), None)
        if key is None:
            return summary.iloc[0:0]
        return summary[summary[key].notna()]


def read_scalars(folder: Path, prefix: str = "") -> dict[str, list[tuple[int, float]]]:
    """The scalars of the tensorboard event files in ``folder``: tag -> [(step, value), ...]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not folder.is_dir():
        raise UserError(f"{folder} does not exist: the run wrote no tensorboard events")
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
        if tag.startswith(prefix)
    }


def _current_names(table: pd.DataFrame) -> pd.DataFrame:
    """A table of a run folder with the current names of the columns an older version wrote
    under another name (``max_acc`` and ``champion_max_acc``... are now ``acc_at_max_reward``
    and ``champion_acc_at_max_reward``...), so that old run folders still plot."""
    return table.rename(columns=current_column_name)
