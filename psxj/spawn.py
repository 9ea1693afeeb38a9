"""Starting one of psxj's own modules in a child Python (the /proc reader, the demo daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def popen_module(module: str, *args: str, **popen_kwargs: Any) -> subprocess.Popen:
    """`python -m MODULE ARGS` with this interpreter, finding this copy of psxj even when it
    runs from a checkout that is not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", module, *args], env=env, **popen_kwargs)
