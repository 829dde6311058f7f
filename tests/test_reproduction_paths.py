"""The text files committed under reproduction/ (the runs' params.yaml and settings printouts,
the tables) name no folder of the machine that made them: paths in them are relative."""

import re

from conftest import REPO

REPRODUCTION = REPO / "reproduction"
#: A path from the root of a file system: /..., ~/... or C:\... (after a blank, a quote, an
#: equals sign or a colon and blank, or at the start of a line).
ABSOLUTE = re.compile(r"(?:^|[\s'\"=(])(/[\w.~-]|~/|[A-Za-z]:[\\/])", re.MULTILINE)


def committed_text_files():
    patterns = ("params.yaml", "settings.txt", "*.csv", "*.md", ".evolearn-outputs")
    return sorted({p for pattern in patterns for p in REPRODUCTION.rglob(pattern)})


def test_no_committed_reproduction_file_holds_an_absolute_path():
    files = committed_text_files()
    assert any(p.name == "params.yaml" for p in files)
    assert any(p.name == "settings.txt" for p in files)
    found = {
        str(p.relative_to(REPO)): ABSOLUTE.findall(p.read_text(encoding="utf-8")) for p in files
    }
    assert not {name: hits for name, hits in found.items() if hits}


def test_the_pattern_finds_the_paths_it_is_for():
    for text in ("#   python run.py /work/runs/a/params.yaml", "data_dir: /data", "~/x", "C:\\x"):
        assert ABSOLUTE.search(text), text
    for text in ("runs/a/champion.json: 8 neurons", "../shared/datasets/mnist", "1/2", "+- 3"):
        assert not ABSOLUTE.search(text), text
