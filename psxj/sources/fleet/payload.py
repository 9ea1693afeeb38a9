"""The program psxj sends to another machine's python3: its own modules, verbatim, and a launcher.

Nothing is installed or written there. The remote command (ssh.py) is a one-line bootstrap that
reads a length-prefixed, zlib-compressed program from stdin and runs it; the program carries the
source of psxj's standard-library-only modules (the /proc reader, the model, the daemon audit) and
an importer that serves them from memory, ahead of anything on that machine's sys.path (with
python3 -I: no current directory, no PYTHONPATH, no user site). So the remote side runs the very
code that reads this machine's /proc: one implementation, not a copy.

The launcher itself is written for any python3 (no f-strings, no annotations): on one older than
3.7, or without /proc (BSD, macOS), it says why and runs `ps -axj` instead.
"""

from __future__ import annotations

import os
import zlib
from functools import lru_cache
from typing import Dict, Tuple

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Sent to the other machine: each must import only the standard library and modules of this list.
REMOTE_MODULES: Tuple[str, ...] = (
    "psxj", "psxj.errors", "psxj.i18n", "psxj.model", "psxj.cells", "psxj.escape",
    "psxj.sources", "psxj.sources.parallel", "psxj.sources.proc", "psxj.sources.ttynames",
    "psxj.sources.fleet", "psxj.sources.fleet.remote",
    "psxj.judge", "psxj.judge.audit", "psxj.judge.facts", "psxj.judge.kinds", "psxj.judge.locks",
    "psxj.judge.profiles", "psxj.judge.rules", "psxj.judge.remote",
    # A host's own systemd and containers (jeepney is used there only if it is installed there).
    "psxj.judge.units", "psxj.judge.containers", "psxj.sources.systemd", "psxj.safefs",
)

# What ssh runs there: read the program's length, then the program; decompress and run it.
BOOTSTRAP = "import sys,zlib;exec(zlib.decompress(sys.stdin.buffer.read(int(sys.stdin.buffer.readline()))))"

_LAUNCHER = '''\
import os, sys
def _fallback(why):
    sys.stdout.buffer.write(b"psxj-ps " + why + b"\\n")
    sys.stdout.flush()
    os.execvp("ps", ["ps", "-axj"])
if sys.version_info < (3, 7):
    _fallback(b"python3 is older than 3.7")
if not os.path.exists("/proc/self/stat"):
    _fallback(b"no /proc")
import importlib.abc, importlib.machinery
SOURCES = %s
class _PsxjModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name not in SOURCES:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=SOURCES[name][0])
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        name = module.__spec__.name
        exec(compile(SOURCES[name][1], "<psxj>/" + name, "exec"), module.__dict__)
sys.meta_path.insert(0, _PsxjModules())
from psxj.judge.remote import serve
sys.exit(serve())
'''


def module_path(name: str) -> Tuple[str, bool]:
    """(file, is a package) of one of psxj's modules, in this copy of psxj."""
    base = os.path.join(PACKAGE_ROOT, *name.split("."))
    if os.path.isdir(base):
        return os.path.join(base, "__init__.py"), True
    return base + ".py", False


def sources() -> Dict[str, Tuple[bool, str]]:
    found = {}
    for name in REMOTE_MODULES:
        path, package = module_path(name)
        with open(path, encoding="utf-8") as f:
            found[name] = (package, f.read())
    return found


@lru_cache(maxsize=1)
def program() -> bytes:
    """What the bootstrap reads from stdin: the length line, then the compressed launcher."""
    compressed = zlib.compress((_LAUNCHER % repr(sources())).encode("utf-8"), 9)
    return b"%d\n" % len(compressed) + compressed
