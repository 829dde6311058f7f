"""Gymnasium's MuJoCo ant with the damaged bodies of Najarro & Risi 2020.

The paper's damage experiment trains one network on the standard ant and on one with a shortened
leg, and tests it on a second damaged body it never saw. Its files (for pyBullet's ant) shorten
the lower segment, the "ankle" capsule, of one leg from 0.4 to 0.1 along its direction. The
bodies here are built the same way, at run time, from the ``ant.xml`` of the installed
Gymnasium, so they follow its version:

- ``standard``: Gymnasium's ant as it is;
- ``damaged_left``: the front left leg's ankle (``left_ankle_geom``, the leg at +x +y) a quarter
  of its length: the body the paper trains on beside the standard one;
- ``damaged_right``: the front right leg's ankle (``fourth_ankle_geom``, the leg at +x -y,
  Gymnasium's "right back" body, which is in front as the ant walks along +x): the body the
  paper holds out.

A damaged body's model is written once per process to a file of a temporary folder of its own
(MuJoCo reads models from files), removed when the process ends.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium

#: body name -> (the geom shortened, or None), in the order the names are listed.
MORPHOLOGIES: dict[str, str | None] = {
    "standard": None,
    "damaged_left": "left_ankle_geom",
    "damaged_right": "fourth_ankle_geom",
}
#: The shortened ankle's length as a fraction of the standard one (0.1 of 0.4).
DAMAGED_FRACTION = 0.25

_FILES: dict[str, str] = {}


def standard_xml_path() -> Path:
    """The ant model of the installed Gymnasium."""
    import gymnasium.envs.mujoco as mujoco_envs  # needs mujoco: imported when asked for

    return Path(mujoco_envs.__file__).parent / "assets" / "ant.xml"


def morphology_xml(name: str) -> str:
    """The MuJoCo model of body ``name`` as XML text.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in MORPHOLOGIES:
        raise ValueError(f"unknown morphology {name!r} (choose from {', '.join(MORPHOLOGIES)})")
    text = standard_xml_path().read_text()
    geom_name = MORPHOLOGIES[name]
    if geom_name is None:
        return text
    root = ET.fromstring(text)
    geom = root.find(f".//geom[@name='{geom_name}']")
    if geom is None:
        raise ValueError(f"Gymnasium's ant.xml has no geom {geom_name!r}: its model changed")
    start, end = (values := [float(v) for v in geom.get("fromto").split()])[:3], values[3:]
    end = [s + (e - s) * DAMAGED_FRACTION for s, e in zip(start, end, strict=True)]
    geom.set("fromto", " ".join(f"{v:g}" for v in (*start, *end)))
    return ET.tostring(root, encoding="unicode")


def morphology_file(name: str) -> str:
    """A path MuJoCo can load body ``name`` from: Gymnasium's own file for ``standard``, else
    this process's copy with the damaged leg."""
    if MORPHOLOGIES.get(name, "") is None:
        return str(standard_xml_path())
    if name not in _FILES:
        text = morphology_xml(name)
        folder = tempfile.mkdtemp(prefix="evolearn-ant-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = Path(folder) / f"ant_{name}.xml"
        path.write_text(text)
        _FILES[name] = str(path)
    return _FILES[name]


def make_ant(env_id: str, morphology: str = "standard", **kwargs) -> gymnasium.Env:
    """``gymnasium.make(env_id)`` of the ant with the body ``morphology``."""
    return gymnasium.make(env_id, xml_file=morphology_file(morphology), **kwargs)
