"""psxj installed the ways people install it, each into a fresh venv with the real pip, offline: from a
checkout (`pip install .`, `pip install -e .`), from a package index (a local one), from a wheel file.

What is checked is what depends on how psxj was installed: `psxj serve` without the serve extra says
how to add it from where psxj came (issue 24, bug 11); the man page and the shell completions land in
the prefix where `man` and the shells look.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_env

from psxj.commands.installed import Origin, extra_command, origin_from_direct_url

# Not needed to install psxj: left out of the copy, so that the copy is what a clean checkout holds.
NOT_COPIED = (".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "screenshots")


# --- the command, from what pip recorded (PEP 610): pure -------------------------------------------

@pytest.mark.parametrize("record, installer, expected", [
    (None, "pip", "/v/bin/python -I -m pip install 'psxj[serve]'"),
    ({"url": "file:///home/ann/psxj", "dir_info": {}}, "pip",
     "/v/bin/python -I -m pip install '/home/ann/psxj[serve]'"),
    ({"url": "file:///home/ann/psxj", "dir_info": {"editable": True}}, "pip",
     "/v/bin/python -I -m pip install -e '/home/ann/psxj[serve]'"),
    ({"url": "file:///home/ann/my%20psxj", "dir_info": {}}, "pip",
     "/v/bin/python -I -m pip install '/home/ann/my psxj[serve]'"),
    ({"url": "https://github.com/ann/psxj.git", "vcs_info": {"vcs": "git", "commit_id": "0123abc"}}, "pip",
     "/v/bin/python -I -m pip install 'psxj[serve] @ git+https://github.com/ann/psxj.git@0123abc'"),
    ({"url": "https://example.org/psxj-0.1.0-py3-none-any.whl", "archive_info": {}}, "pip",
     "/v/bin/python -I -m pip install 'psxj[serve] @ https://example.org/psxj-0.1.0-py3-none-any.whl'"),
    ({"url": "file:///nonexistent/psxj-0.1.0-py3-none-any.whl", "archive_info": {}}, "pip",
     "/v/bin/python -I -m pip install 'textual-serve>=1.1,<2'"),   # the wheel is gone: the extra's requirement
    ({"url": "file:///home/ann/psxj", "dir_info": {}}, "uv",
     "uv pip install --python /v/bin/python '/home/ann/psxj[serve]'"),
    ("not a record", "pip", "/v/bin/python -I -m pip install 'psxj[serve]'"),
])
def test_the_command_follows_the_install_record(record, installer, expected):
    assert extra_command("serve", origin_from_direct_url(record, installer), "/v/bin/python") == expected


def test_pipx_injects_into_its_own_venv():
    assert extra_command("serve", Origin("index"), "/p/bin/python", pipx=True) == \
        "pipx inject psxj 'textual-serve>=1.1,<2'"


# --- real installs -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of this checkout, somewhere else, so that what the messages name is the copy."""
    base = tmp_path_factory.mktemp("install")
    copy = base / "checkout psxj"   # a space in the path: the printed command must quote it
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_COPIED))
    return copy


def new_venv(where: Path) -> Path:
    """A venv with its own pip and setuptools (python3.11's venv brings both), nothing else."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True, timeout=300)
    return where / "bin" / "python"


def pip(python: Path, *args: str, command: str = "install") -> subprocess.CompletedProcess:
    """The venv's own pip, as a user runs it (--no-deps: the messages tested need none of psxj's packages).
    Building from a checkout takes setuptools from the index pip is set up with, as `.ci/run`'s own
    `pip install` does; where there is none, the test is skipped, saying so."""
    result = subprocess.run([str(python), "-m", "pip", command, "--no-deps", "--disable-pip-version-check", *args],
                            capture_output=True, timeout=600, env=clean_env())
    if result.returncode and b"No matching distribution found for setuptools" in result.stderr:
        pytest.skip("no package index to build psxj from its checkout with (setuptools)")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result


def serve(python: Path, cwd) -> str:
    """`psxj serve` as the installed console script runs it, in a venv without textual-serve."""
    script = python.parent / "psxj"
    result = subprocess.run([str(script), "serve"], capture_output=True, cwd=cwd, timeout=60, env=clean_env())
    err = result.stderr.decode()
    assert result.returncode == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def direct_url(python: Path) -> dict:
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; "
                          "print(m.distribution('psxj').read_text('direct_url.json'))"],
                         capture_output=True, check=True, cwd="/").stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def installed(source, tmp_path_factory):
    """A venv with psxj installed from the checkout's copy, as the README's first line does."""
    python = new_venv(tmp_path_factory.mktemp("installed") / "venv")
    pip(python, str(source))
    return python


@pytest.mark.slow
def test_serve_from_a_checkout_names_that_checkout_and_the_command_works(source, installed):
    python = installed
    # Run from the checkout itself too: its psxj.egg-info (a build's leftover) is no install record.
    for cwd in ("/", source):
        err = serve(python, cwd)
        command = f"{python} -I -m pip install '{source}[serve]'"
        assert err == (f"psxj: serve needs textual-serve (psxj's serve extra). This psxj came from the checkout "
                       f"{source}; add the extra with: {command}\n")
    # The command, run as printed (offline: without the extra's own packages), installs this checkout.
    words = shlex.split(command)
    assert words[:5] == [str(python), "-I", "-m", "pip", "install"]
    pip(python, *words[5:])
    assert direct_url(python)["url"] == source.as_uri()


@pytest.mark.slow
def test_serve_from_an_editable_checkout_keeps_it_editable(source, tmp_path):
    python = new_venv(tmp_path / "venv")
    pip(python, "-e", str(source))
    err = serve(python, "/")
    command = f"{python} -I -m pip install -e '{source}[serve]'"
    assert err.endswith(f"came from the checkout {source} (editable); add the extra with: {command}\n"), err
    pip(python, *shlex.split(command)[4:])
    assert direct_url(python) == {"url": source.as_uri(), "dir_info": {"editable": True}}


@pytest.mark.slow
def test_serve_from_an_index_asks_the_index_and_from_a_wheel_that_wheel(source, tmp_path):
    wheels = tmp_path / "index"
    pip(Path(sys.executable), "-w", str(wheels), str(source), command="wheel")
    [wheel] = wheels.glob("psxj-*.whl")
    # By name, from an index (a local one, as --find-links): pip records no direct URL.
    python = new_venv(tmp_path / "by-name")
    pip(python, "--no-index", "--find-links", str(wheels), "psxj")
    assert serve(python, "/") == (f"psxj: serve needs textual-serve (psxj's serve extra). This psxj came from a "
                                  f"package index; add the extra with: {python} -I -m pip install 'psxj[serve]'\n")
    # The wheel file itself.
    python = new_venv(tmp_path / "by-file")
    pip(python, "--no-index", str(wheel))
    assert serve(python, "/").endswith(f"came from the file {wheel}; add the extra with: {python} -I -m pip install "
                                       f"'psxj[serve] @ {wheel.as_uri()}'\n")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("man") is None, reason="no man (Debian: man-db)")
def test_man_finds_the_installed_page_beside_the_venvs_bin(installed, tmp_path):
    """pip puts the page in the venv's share/man/man1; man-db looks for share/man beside each bin/ on PATH:
    with the venv's bin on PATH (an activated venv), `man psxj` is psxj's page, in Chinese with -L zh_CN."""
    prefix = installed.parent.parent
    for path in ("share/man/man1/psxj.1", "share/man/zh_CN/man1/psxj.1", "share/bash-completion/completions/psxj",
                 "share/zsh/site-functions/_psxj", "share/fish/vendor_completions.d/psxj.fish"):
        assert (prefix / path).read_bytes() == (ROOT / path).read_bytes(), path

    def man(*args: str, path: str) -> subprocess.CompletedProcess:
        env = clean_env(PATH=path, LANG="C.UTF-8", MANWIDTH="80", HOME=str(tmp_path))
        env.pop("MANPATH", None)
        return subprocess.run(["man", *args], capture_output=True, timeout=60, env=env)

    with_venv = f"{installed.parent}:/usr/bin:/bin"
    assert man("-w", "psxj", path=with_venv).stdout.decode().strip() == str(prefix / "share/man/man1/psxj.1")
    assert man("-L", "zh_CN", "-w", "psxj", path=with_venv).stdout.decode().strip() == \
        str(prefix / "share/man/zh_CN/man1/psxj.1")
    page = man("psxj", path=with_venv)
    assert page.returncode == 0 and "psxj - explore processes the way ps -axj shows them" in \
        re.sub(".\b", "", page.stdout.decode()).replace("\u2010", "-").replace("\u2212", "-")
    assert man("-w", "psxj", path="/usr/bin:/bin").returncode != 0   # it is the venv's, found through PATH


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/bash_completion"),
                    reason="no bash-completion (Debian: bash-completion)")
def test_bash_completion_loads_the_installed_completion_from_the_prefix(installed, tmp_path):
    """With the venv's share/ among XDG_DATA_DIRS (as /usr/local/share is for a system-wide pip install),
    bash-completion's own loader finds psxj's completion on the first TAB."""
    prefix = installed.parent.parent
    script = ". /usr/share/bash-completion/bash_completion; __load_completion psxj && complete -p psxj"
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], capture_output=True, timeout=60,
                            env=clean_env(XDG_DATA_DIRS=f"{prefix}/share:/usr/share", HOME=str(tmp_path)))
    assert result.stdout.decode().strip() == "complete -F _psxj psxj", result.stderr.decode()
