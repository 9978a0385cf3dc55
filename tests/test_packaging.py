"""A plain (non-editable) install works from another directory: every folder maps to its package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ["molmo_agent", "molmo_agent.model", "molmo_agent.training", "molmo_agent.adapters", "molmo_agent.sims"]


@pytest.mark.slow
def test_plain_install_imports_every_package_from_elsewhere(tmp_path):
    target = tmp_path / "site"
    # Build from a copy: setuptools writes build/ and *.egg-info into the source tree.
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".git", "tests", "build", "*.egg-info", "__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    probe = (
        "import importlib, json; "
        f"mods = [importlib.import_module(m) for m in {PACKAGES!r}]; "
        "import molmo_agent.model.modeling_molmo, molmo_agent.cli; "
        "print(json.dumps([m.__file__ for m in mods]))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    files = result.stdout.strip()
    assert str(REPO_ROOT) not in files and str(source) not in files and str(target) in files
    help_text = subprocess.run([sys.executable, "-m", "molmo_agent", "--help"], capture_output=True, text=True,
                               cwd=tmp_path, env=env)
    assert help_text.returncode == 0 and "molmo-agent" in help_text.stdout


def test_import_molmo_agent_is_light():
    """``import molmo_agent`` loads neither torch nor transformers (they take seconds)."""
    probe = "import sys, molmo_agent; print('torch' in sys.modules, 'transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.stdout.split() == ["False", "False"]
