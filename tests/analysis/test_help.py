"""--help of the analysis tools (plot, random_networks, champion): each default once."""

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize(
    "module", ["evolearn.plot", "evolearn.random_networks", "evolearn.champion"]
)
def test_help_shows_each_default_once(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=REPO,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # whatever the width the help is wrapped to
    assert "(default: None)" not in text and "(default: False)" not in text
    # a help that says its default gets no second one
    if module == "evolearn.champion":
        assert "where MNIST is (default: the run's data_dir) --morphology" in text
        assert text.count("(default: the one of the run folder the file is in)") == 1
    else:
        assert "(default: each run's data_dir) --" in text or text.endswith(
            "(default: each run's data_dir)"
        )
    if module == "evolearn.plot":
        assert "(default: each run's last saved) --connections" in text
        assert text.count("(default: 18)") == 1
    # every option's help carries at most one default
    for option in text.split(" --")[1:]:
        assert option.count("(default:") <= 1, option
    if module == "evolearn.champion":
        assert "(default: 100)" in text and "(default: 0)" in text  # the values still shown
    else:
        assert "(default: 20)" in text and "(default: 0)" in text
