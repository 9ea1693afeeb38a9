"""Run one of psxj's modules as a program, for psxj.spawn: `python -I .../psxj/_launch.py MODULE ARGS`.

With -I, Python adds neither the current directory, nor this script's directory, nor PYTHONPATH
to sys.path: only the directory this psxj was installed in is added, here, from this file's own
path. A file rather than `-c CODE`, so that ps shows a readable command line.
Part of the foundation (psxj.spawn's launcher): it imports nothing of psxj.
"""

import os
import runpy
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    module = sys.argv[1]
    del sys.argv[1]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
