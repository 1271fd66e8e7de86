"""The rooms of the installed package import only downstream-to-upstream (docs/architecture.md).

Walks every module of the installed ``minqing`` package (the folders mapped into it by
``pyproject.toml``) and the Datasette plugins, parses its imports (module level and inside
functions) and fails on any import that goes up the data flow.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

import pytest

from minqing.paths import datasette_dir

ROOT = Path(__file__).resolve().parents[1]

#: room -> rooms it may import (besides itself). ``app`` is minqing/ (CLI and pipeline).
ALLOWED: dict[str, set[str]] = {
    "ingest": set(),
    "ocr": set(),
    "classify": set(),
    "archive": {"ingest", "ocr", "classify"},
    "review": {"ingest", "ocr", "classify", "archive"},
    "volumes": {"classify", "archive"},
    "web": {"classify", "archive", "review"},
    "plugins": {"classify", "archive", "review", "web"},
    "app": {"ingest", "ocr", "classify", "archive", "review", "volumes", "web"},
}
ROOMS = set(ALLOWED) - {"plugins", "app"}
#: leaves every room may import: stdlib-only modules of the app package (where files are)
LEAVES = {"minqing.paths"}
#: only the web layer may import Datasette
DATASETTE_ROOMS = {"web", "plugins"}


def _packages() -> list[str]:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return conf["tool"]["setuptools"]["packages"]


def _modules() -> list[tuple[str, Path]]:
    """(room, file) for every Python file of the installed package and the plugins."""
    out: list[tuple[str, Path]] = []
    for pkg in _packages():
        if pkg == "minqing._datasette":  # a data folder: the plugins are loaded by path
            out += [("plugins", f) for f in sorted((datasette_dir() / "plugins").glob("*.py"))]
            continue
        if pkg.startswith("minqing._datasette.") or pkg == "minqing.classify.data":
            continue  # folders of data files (templates, static, plugins walked above, models)
        spec = importlib.util.find_spec(pkg)
        assert spec is not None and spec.submodule_search_locations, f"{pkg} is not importable"
        folder = Path(next(iter(spec.submodule_search_locations)))
        if pkg == "minqing":
            room, files = "app", sorted(folder.glob("*.py"))
        elif pkg == "minqing._samples":
            continue  # data, and the generator script that made it
        else:
            room, files = pkg.split(".")[1], sorted(folder.rglob("*.py"))
        out += [(room, f) for f in files]
    return out


def _imports(path: Path, package: str | None) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return found


def _room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "minqing":
        return None
    if len(parts) > 1 and parts[1] in ROOMS:
        return parts[1]
    return "app" if len(parts) > 1 and parts[1] not in {"_datasette", "_samples"} else None


def test_leaves_import_nothing_of_the_project():
    for leaf in LEAVES:
        spec = importlib.util.find_spec(leaf)
        assert spec is not None and spec.origin
        mods = [m for _, m in _imports(Path(spec.origin), None)]
        assert not [m for m in mods if m.split(".")[0] in ROOMS | {"minqing"}], mods


def test_every_room_is_walked():
    rooms = {room for room, _ in _modules()}
    assert rooms == set(ALLOWED), rooms
    assert len(_modules()) > 60


def test_no_upward_imports():
    bad = []
    for room, path in _modules():
        for lineno, mod in _imports(path, None):
            top = mod.split(".")[0]
            if top in ROOMS:
                bad.append(f"{path}:{lineno} imports top-level {mod!r}: use minqing.{mod}")
            target = _room_of(mod)
            if any(mod == leaf or mod.startswith(leaf + ".") for leaf in LEAVES):
                continue
            if target is None or target == room:
                continue
            if target not in ALLOWED[room]:
                bad.append(f"{path}:{lineno} ({room}) imports {mod} ({target}): upward")
        for lineno, mod in _imports(path, None):
            if mod.split(".")[0] == "datasette" and room not in DATASETTE_ROOMS:
                bad.append(
                    f"{path}:{lineno} ({room}) imports {mod}: "
                    "only the web layer may import Datasette"
                )
    assert not bad, "\n".join(sorted(set(bad)))


@pytest.mark.parametrize(
    "source, room, expected",
    [
        ("from minqing.review import corrections\n", "archive", "upward"),
        ("import ocr\n", "classify", "top-level"),
        ("from datasette import hookimpl\n", "archive", "Datasette"),
        ("from minqing.archive import records\n", "review", None),
    ],
)
def test_the_rule_catches_what_it_should(tmp_path, monkeypatch, source, room, expected):
    """The walker itself: an upward, a top-level and a Datasette import are each caught."""
    f = tmp_path / "m.py"
    f.write_text(source)
    monkeypatch.setattr("tests.test_architecture._modules", lambda: [(room, f)], raising=True)
    if expected is None:
        test_no_upward_imports()
    else:
        with pytest.raises(AssertionError, match=expected):
            test_no_upward_imports()
