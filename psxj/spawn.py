"""Starting one of psxj's own modules in a child Python (the /proc reader, the demo daemon).

psxj often runs as root, in a directory another user owns. `python -m MODULE` would put
the current directory (and every PYTHONPATH entry, an empty one meaning the current
directory again) first on sys.path, so a `psxj/` package planted there would run as
root. The child therefore starts isolated (`-I`: no current directory, no PYTHONPATH,
no user site-packages, not even the script's directory) through psxj/_launch.py, which
adds exactly one place to import from: the directory this copy of psxj was loaded from,
where the parent's own code came from.
Part of the foundation: the sources' reader helper, the demo, the lab and `psxj serve` start their
children through it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LAUNCHER = os.path.join(PACKAGE_ROOT, "psxj", "_launch.py")


def module_command(module: str, *args: str) -> List[str]:
    """The argv that runs `module` of this psxj copy with this interpreter, isolated (-I): the
    launcher adds psxj's own directory to sys.path and nothing else."""
    return [sys.executable, "-I", LAUNCHER, module, *args]


def popen_module(module: str, *args: str, **popen_kwargs: Any) -> subprocess.Popen:
    """Start `module` in a child Python that imports nothing from the current directory or the
    environment; it starts in /, never in the caller's directory."""
    popen_kwargs.setdefault("cwd", "/")
    return subprocess.Popen(module_command(module, *args), **popen_kwargs)
