"""The README and the pages under docs/ must stay true to the code."""

import re
from pathlib import Path

import pytest

from evolearn.experiment import options_page
from evolearn.experiment.options import OPTIONS
from evolearn.scripts import SCRIPT_MODULES, script_specs

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
PAGES = {
    path: path.read_text() for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
}


def test_the_options_page_is_the_one_the_catalogue_makes():
    page = (REPO / "docs" / "options.md").read_text()
    assert page == options_page.render(), f"docs/options.md is stale: run {options_page.COMMAND}"


def test_the_options_page_documents_every_option_with_its_scripts():
    page = options_page.render()
    for name in OPTIONS:
        (row,) = [line for line in page.splitlines() if line.startswith(f"| `--{name}` |")]
        users = [script for script, spec in script_specs().items() if name in spec.options]
        assert all(script in row for script in users), (name, users)


def test_the_options_page_shows_a_scripts_own_default():
    page = options_page.render()
    (row,) = [line for line in page.splitlines() if line.startswith("| `--population_size` |")]
    default = script_specs()["run-wlnn-mnist.py"].defaults["population_size"]
    assert f"run-wlnn-mnist.py ({default})" in row


def test_every_script_is_registered_and_documented():
    on_disk = sorted(path.name for path in REPO.glob("run-*.py"))
    assert sorted(SCRIPT_MODULES) == on_disk
    scripts_page = (REPO / "docs" / "scripts.md").read_text()
    for script in on_disk:
        assert f"`{script}`" in README, script
        assert script in scripts_page, script


def test_every_parameter_file_is_documented():
    scripts_page = (REPO / "docs" / "scripts.md").read_text()
    for params_file in sorted((REPO / "params").rglob("*.yaml")):
        assert str(params_file.relative_to(REPO)) in scripts_page, params_file


def test_readme_test_command_is_the_one_ci_runs():
    assert "python -m pytest -q" in README
    assert "python -m pytest -q" in (REPO / ".ci" / "run").read_text()


def links(text: str) -> list[str]:
    """The targets of the markdown links and images of ``text``, outside code blocks."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file(page):
    for target in links(PAGES[page]):
        if re.match(r"[a-z]+://", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: {target}"


def test_the_readme_links_every_docs_page():
    for page in (REPO / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in README, page.name


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 300
