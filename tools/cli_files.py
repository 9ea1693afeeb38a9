"""Write psxj's man pages and shell completions from its one argparse tree: `python tools/cli_files.py`.

    python tools/cli_files.py            write share/man/man1/psxj.1 (and zh_CN's), and the bash, zsh and
                                         fish completions under share/
    python tools/cli_files.py --check    exit 1, changing nothing, when a shipped file is not what this writes

pyproject.toml installs them with the package into the environment's prefix (share/man/man1, ...), where
`man psxj` finds the page (man-db looks beside each bin/ directory on PATH) and the shells their
completions. Run it after changing an option, a help text, a subcommand or a key; tests/test_cli_files.py
fails until the shipped files are what it writes. What they say comes from tools/manpage.py and
tools/completions.py, which read tools/cli_tree.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli_tree import ROOT  # noqa: E402  (tools/ is not a package: its modules import each other by path)

SHARE = os.path.join(ROOT, "share")
# The man page in each language psxj speaks, where man-db looks for it (man -L zh_CN, or LANG=zh_CN.UTF-8).
MAN_PAGES = {"en": "man/man1/psxj.1", "zh": "man/zh_CN/man1/psxj.1"}


def generated() -> Dict[str, str]:
    """Every file this writes, by its path under share/, with its content. Each language's page is made
    in a fresh Python: the parsers' help is translated when they are built."""
    import subprocess

    from completions import completions

    files = dict(completions())
    for language, path in MAN_PAGES.items():
        files[path] = subprocess.run([sys.executable, os.path.abspath(__file__), "--print-man", language],
                                     capture_output=True, check=True, env=_neutral_environment()).stdout.decode()
    return dict(sorted(files.items()))


def _neutral_environment() -> Dict[str, str]:
    """What the page must not depend on: the terminal's width, the caller's locale and run directory."""
    keep = ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(LANG="C.UTF-8", COLUMNS="80", PYTHONIOENCODING="utf-8")
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file is stale")
    parser.add_argument("--share", metavar="DIR", default=SHARE, help="where the files are (default: share/)")
    parser.add_argument("--print-man", metavar="LANGUAGE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.print_man:
        from manpage import man_page

        sys.stdout.buffer.write(man_page(args.print_man).encode("utf-8"))
        return 0
    stale = []
    for path, content in generated().items():
        where = os.path.join(args.share, path)
        try:
            with open(where, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == content:
            continue
        stale.append(where if args.share != SHARE else os.path.relpath(where, ROOT))
        if not args.check:
            os.makedirs(os.path.dirname(where), exist_ok=True)
            with open(where, "w", encoding="utf-8") as f:
                f.write(content)
    if stale:
        print(("stale: " if args.check else "wrote ") + ", ".join(stale))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
