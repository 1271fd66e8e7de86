"""Run mypy on the import package ``minqing`` and the Datasette plugins, from the repository.

The distribution maps repository folders into one import package through setuptools'
``package-dir`` (``ocr/`` -> ``minqing.ocr``, ``datasette/web/`` -> ``minqing.web``, …). mypy
cannot follow that mapping, nor the import hook of an editable install. So this script lays the
package out as ``pip install .`` would, as symlinks under ``build/typecheck/`` built from
``pyproject.toml`` (the mapping stays written once), runs mypy there with the ``[tool.mypy]``
settings and prints each path as the repository file it links to (``ocr/engine.py:12: …``).
No build, no copy: a run takes the time of mypy itself (a few seconds with its cache).

Checked: every package of ``minqing`` (CLI, pipeline, the stages, the web layer) and the
Datasette plugins (``datasette/plugins/*.py``, package data loaded by file path). Not checked:
``minqing._samples`` (the scripts that regenerate the bundled samples), tests, benchmarks.

    python tools/typecheck.py                    # what `make lint` and .ci/run run
    python tools/typecheck.py --no-incremental   # extra arguments go to mypy
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
SKIP = {"minqing._samples"}  # see above
PLUGINS = "minqing._datasette"  # the Datasette configuration folder: only its plugins are code


def link_tree() -> list[str]:
    """(Re)build the tree of symlinks; return what mypy checks, relative to the tree."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    folders: dict[str, str] = config.get("package-dir", {})
    for old in ("minqing", "plugins"):
        shutil.rmtree(TREE / old, ignore_errors=True)
    targets = ["minqing"]
    for package in config["packages"]:
        if package in SKIP:
            continue
        source = ROOT / folders.get(package, package.replace(".", "/"))
        if package == PLUGINS:
            source, target = source / "plugins", TREE / "plugins"
        else:
            target = TREE.joinpath(*package.split("."))
        target.mkdir(parents=True)
        for module in sorted(source.glob("*.py")):
            (target / module.name).symlink_to(module)
            if package == PLUGINS:  # not a package: each plugin is a module of its own
                targets.append(f"plugins/{module.name}")
    return targets


def main(argv: list[str]) -> int:
    targets = link_tree()
    command = [
        sys.executable, "-m", "mypy",
        "--config-file", str(ROOT / "pyproject.toml"),
        "--python-executable", sys.executable,
        "--cache-dir", str(ROOT / ".mypy_cache"),
        *targets,
        *argv,
    ]  # fmt: skip
    # run from the tree: from the repository root, mypy would take the Datasette configuration
    # folder ``datasette/`` for the ``datasette`` package
    run = subprocess.run(command, cwd=TREE, capture_output=True, text=True, check=False)

    def repo_path(match: re.Match[str]) -> str:
        return os.path.relpath(os.path.realpath(TREE / match.group(0)), ROOT)

    sys.stdout.write(re.sub(r"^(?:minqing|plugins)/\S+?\.py", repo_path, run.stdout, flags=re.M))
    sys.stderr.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
