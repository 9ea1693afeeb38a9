"""The code stays ruff-clean (the rules are in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT


def test_ruff_finds_nothing():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install '.[test]' brings it)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "psxj", "tests", "bench", "screenshots", "tools"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
