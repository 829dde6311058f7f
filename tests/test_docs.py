"""The README is the front door: it must stay true to the code."""

from pathlib import Path

from evolearn.experiment.options import OPTIONS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_readme_documents_every_option():
    missing = [name for name in OPTIONS if f"`--{name}`" not in README]
    assert not missing, f"options missing from README.md: {missing}"


def test_readme_documents_every_script_and_parameter_file():
    for script in sorted(REPO.glob("run-*.py")):
        assert script.name in README, script.name
    for params_file in sorted((REPO / "params").rglob("*.yaml")):
        assert str(params_file.relative_to(REPO)) in README, params_file


def test_readme_test_command_is_the_one_ci_runs():
    assert "python -m pytest -q" in README
    assert "python -m pytest -q" in (REPO / ".ci" / "run").read_text()
