"""Starting one of psxj's own modules in a child Python (the /proc reader, the demo daemon).

psxj often runs as root, in a directory another user owns. `python -m MODULE` would put
the current directory (and every PYTHONPATH entry, an empty one meaning the current
directory again) first on sys.path, so a `psxj/` package planted there would run as
root. The child therefore starts isolated (`-I`: no current directory, no PYTHONPATH,
no user site-packages) and is told exactly one extra place to import from: the directory
this copy of psxj was loaded from, which is where the parent's own code came from.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in the child: put psxj's own directory first, then run the module as __main__.
_BOOTSTRAP = (
    "import runpy, sys\n"
    "root, module = sys.argv[1], sys.argv[2]\n"
    "del sys.argv[1:3]\n"
    "sys.path.insert(0, root)\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


def module_command(module: str, *args: str) -> List[str]:
    """The argv that runs `module` of this psxj copy with this interpreter, isolated."""
    return [sys.executable, "-I", "-c", _BOOTSTRAP, PACKAGE_ROOT, module, *args]


def popen_module(module: str, *args: str, **popen_kwargs: Any) -> subprocess.Popen:
    """Start `module` in a child Python that imports nothing from the current directory or the
    environment; its own cwd is the package root's parent, never the caller's directory."""
    popen_kwargs.setdefault("cwd", "/")
    return subprocess.Popen(module_command(module, *args), **popen_kwargs)
