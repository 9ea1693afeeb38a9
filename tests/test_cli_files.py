"""The man pages and the shell completions (share/, written by tools/cli_files.py from the one argparse
tree): shipped as a fresh generation writes them, whatever the environment; read by the real `man`
without a warning, naming every command and option; and tried in the real shells, bash and zsh typed
into tmux, fish through its own `complete -C`.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, clean_env

sys.path.insert(0, str(ROOT / "tools"))
import cli_tree  # noqa: E402  (tools/: what the files are written from)

SHARE = ROOT / "share"
TOOL = ROOT / "tools" / "cli_files.py"
MAN_PAGES = {"en": SHARE / "man" / "man1" / "psxj.1", "zh": SHARE / "man" / "zh_CN" / "man1" / "psxj.1"}
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def _text(data: str) -> str:
    """A file's text as a checkout may hold it: with CRLF line ends (git's autocrlf) read as LF."""
    return data.replace("\r\n", "\n")


# --- shipped = generated ---------------------------------------------------------------------------

def test_the_shipped_files_are_what_the_tree_writes_now():
    from cli_files import generated

    fresh = generated()
    assert set(fresh) == {str(path.relative_to(SHARE)) for path in SHARE.rglob("*") if path.is_file()}
    for path, content in fresh.items():
        shipped = _text((SHARE / path).read_text(encoding="utf-8"))
        if shipped != content:
            diff = "".join(list(difflib.unified_diff(shipped.splitlines(True), content.splitlines(True),
                                                     f"share/{path}", "generated"))[:40])
            pytest.fail(f"share/{path} is stale: run python tools/cli_files.py\n{diff}")


def test_the_generation_does_not_depend_on_the_terminal_the_locale_or_the_user(tmp_path):
    """A narrow terminal, a Chinese locale, another run directory, another current directory: the same
    bytes (--check exits 0)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = clean_env(COLUMNS="33", LANG="zh_CN.UTF-8", LANGUAGE="zh:en", XDG_RUNTIME_DIR=str(runtime))
    result = subprocess.run([sys.executable, str(TOOL), "--check"], cwd=tmp_path, env=env, capture_output=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.parametrize("edit", ["change", "remove"])
def test_the_check_names_a_stale_file(tmp_path, edit):
    copy = tmp_path / "share"
    shutil.copytree(SHARE, copy)
    bash = copy / "bash-completion" / "completions" / "psxj"
    if edit == "change":   # an option the tree no longer has
        bash.write_text(bash.read_text().replace("--all", "--every"))
    else:
        bash.unlink()
    result = subprocess.run([sys.executable, str(TOOL), "--check", "--share", str(copy)], capture_output=True,
                            timeout=120, env=clean_env())
    assert result.returncode == 1 and result.stdout.decode() == f"stale: {bash}\n"
    assert not bash.exists() or "--every" in bash.read_text()   # --check changes nothing


# --- the man page, through the real man ---------------------------------------------------------------

needs_man = pytest.mark.skipif(shutil.which("man") is None, reason="no man (Debian: man-db)")


def rendered(page: Path) -> str:
    result = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", str(page)], capture_output=True,
                            timeout=60, env=clean_env(LANG="C.UTF-8", MANWIDTH="100"))
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()   # no troff warning
    # Into a pipe, grotty makes bold and underline by overstriking (x BS x); groff may print a minus as
    # U+2212 and a hyphen as U+2010: both are the - typed on a command line.
    text = re.sub(".\b", "", result.stdout.decode())
    return text.replace("\u2212", "-").replace("\u2010", "-")


@needs_man
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_man_page_names_every_command_option_and_key(language):
    page = rendered(MAN_PAGES[language])
    words = " ".join(page.split())   # the page's lines joined: a long option may wrap
    sections = {"en": ["NAME", "SYNOPSIS", "OPTIONS", "SELECTORS", "COMMANDS", "INTERFACE KEYS", "EXIT STATUS",
                       "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"],
                "zh": ["名称", "概要", "选项", "选择器", "子命令", "界面按键", "退出状态", "环境变量", "文件",
                       "示例", "参见"]}
    headings = [line for line in page.splitlines() if line and not line.startswith(" ")]
    for section in sections[language]:
        assert section in headings, section
    for command in cli_tree.commands(language):
        if command.name:
            assert f"psxj {command.name}" in headings or f"   psxj {command.name}" in page, command.name
        for option in command.options:
            for flag in option.flags:
                assert flag in words, (command.name, flag)
    for key in ("F9, x", "Space", "q, F10, Ctrl+C", "0-9"):
        assert key in page
    if language == "zh":
        assert "显示此帮助信息并退出" in page and "进程组" in page


@needs_man
async def test_the_man_pages_keys_are_the_running_interfaces():
    """The page reads the keys from the classes; the interface composes its features at run time. Every
    key the running interface's help lists, with its words, is in the page."""
    from psxj.sources.loaded import load_snapshot
    from psxj.tui.app import PsxjApp
    from psxj.tui.keys import help_lines
    from psxj.tui.table import ProcessTable

    page = " ".join(rendered(MAN_PAGES["en"]).split())
    app = PsxjApp(snapshot=load_snapshot(str(ROOT / "tests" / "fixtures" / "tutorial-axj.txt")), events=False)
    async with app.run_test(size=(120, 40)):
        lines = help_lines([*app.main.ordered_keys(), *app.BINDINGS, *ProcessTable.BINDINGS], lambda action: True)
    assert len(lines) > 20
    for keys, words in lines:
        assert f"{keys} {words}" in page, (keys, words)


# --- the completions, in the real shells -------------------------------------------------------------

class Tmux:
    """A shell typed into a tmux pane on a private server: what a person sees after pressing TAB."""

    def __init__(self, shell: list, env: dict) -> None:
        self.tmux = ["tmux", "-L", f"psxj-test-{os.getpid()}", "-f", "/dev/null"]
        environment = " ".join(f"{key}={value}" for key, value in env.items())
        subprocess.run([*self.tmux, "new-session", "-d", "-x", "160", "-y", "50", "-s", "shell",
                        f"env -i {environment} {' '.join(shell)}"], check=True, timeout=30)

    def pane(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "shell"], capture_output=True,
                              timeout=30).stdout.decode()

    def type(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "shell", *keys], check=True, timeout=30)

    def wait_for(self, condition, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            pane = self.pane()
            if condition(pane) or time.monotonic() > deadline:
                return pane
            time.sleep(0.1)

    def fresh_line(self, prompt: str) -> None:
        self.type("C-c")
        self.type("clear", "Enter")
        self.wait_for(lambda pane: pane.strip() == prompt.strip())

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], timeout=30)


def last_line(pane: str) -> str:
    lines = [line for line in pane.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def shell_env(home: Path, **extra: str) -> dict:
    path = os.path.dirname(sys.executable) + ":/usr/bin:/bin"
    return {"HOME": str(home), "TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": path, **extra}


def tree_options(name: str) -> list:
    [command] = [c for c in cli_tree.commands("en") if c.name == name]
    return [flag for option in command.options for flag in option.flags if flag.startswith("--")]


@pytest.fixture
def tmux_shell():
    sessions = []

    def start(shell: list, env: dict) -> Tmux:
        if shutil.which("tmux") is None:
            pytest.skip("no tmux (Debian: tmux)")
        sessions.append(Tmux(shell, env))
        return sessions[-1]

    yield start
    for session in sessions:
        session.close()


@pytest.fixture
def listening_port():
    """A TCP port this test's own process listens on (a five-digit one: no other port starts with it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        if port < 10000:
            pytest.skip(f"the kernel gave port {port}, which another port may start with")
        yield port


WHY_COMM = b"psxjwhytarget"   # a command name no other process has, for psxj why NAME


@pytest.mark.slow
def test_bash_completes_with_the_shipped_file_found_by_bash_completion(tmp_path, tmux_shell, spawner,
                                                                       listening_port):
    if not os.path.exists(BASH_COMPLETION):
        pytest.skip("no bash-completion (Debian: bash-completion)")
    rc = tmp_path / "bashrc"
    rc.write_text(f"PS1='$ '\n. {BASH_COMPLETION}\n")
    # bash-completion finds share/bash-completion/completions/psxj itself, as it would under /usr/local/share.
    shell = tmux_shell(["bash", "--noprofile", "--rcfile", str(rc), "-i"],
                       shell_env(tmp_path, XDG_DATA_DIRS=f"{SHARE}:/usr/share"))
    shell.wait_for(lambda pane: pane.strip() == "$")

    shell.type("psxj au", "Tab")
    assert last_line(shell.wait_for(lambda pane: "audit" in pane)) == "$ psxj audit"
    shell.fresh_line("$")
    shell.type("psxj audit --", "Tab", "Tab")
    pane = shell.wait_for(lambda pane: "--profile" in pane)
    listed = pane.split()
    assert all(option in listed for option in tree_options("audit")), pane
    shell.fresh_line("$")
    shell.type("psxj --kind daemon,orph", "Tab")
    assert last_line(shell.wait_for(lambda pane: "orphan" in pane)) == "$ psxj --kind daemon,orphan"
    shell.fresh_line("$")
    shell.type("psxj --lang zh demo st", "Tab", "Tab")
    pane = shell.wait_for(lambda pane: "status" in pane)
    assert ["start", "status", "stop"] in [line.split() for line in pane.splitlines()], pane
    shell.fresh_line("$")
    sleeper = spawner.sleeper()
    others = [name for name in os.listdir("/proc") if name.startswith(str(sleeper.pid)) and name.isdigit()]
    if others == [str(sleeper.pid)]:   # its PID is no other's prefix: a PID from /proc, completed whole
        typed = f"psxj -p 1,{sleeper.pid}"
        shell.type(typed, "Tab", "#")       # the # shows the space a whole word gets
        assert last_line(shell.wait_for(lambda pane: "#" in pane)) == f"$ {typed} #"
    shell.fresh_line("$")
    shell.type("psxj --load=tests/fixtures/tutorial-a", "Tab")
    assert last_line(shell.wait_for(lambda pane: "axj" in pane)) == "$ psxj --load=tests/fixtures/tutorial-axj.txt"
    # psxj why: a listening port (bash splits words at a :, the completion puts them together), a command
    # name, a path.
    for typed in (f":{listening_port}", f"tcp:{listening_port}"):
        shell.fresh_line("$")
        shell.type(f"psxj why {typed[:-1]}", "Tab", "#")
        assert last_line(shell.wait_for(lambda pane: "#" in pane)) == f"$ psxj why {typed} #"
    spawner.sleeper(comm=WHY_COMM)
    shell.fresh_line("$")
    shell.type("psxj why psxjwhyt", "Tab", "#")
    assert last_line(shell.wait_for(lambda pane: "#" in pane)) == "$ psxj why psxjwhytarget #"
    shell.fresh_line("$")
    shell.type("psxj why tests/fixtures/tutorial-a", "Tab")
    assert last_line(shell.wait_for(lambda pane: "axj" in pane)) == "$ psxj why tests/fixtures/tutorial-axj.txt"


@pytest.mark.slow
def test_zsh_completes_with_the_shipped_function_on_its_fpath(tmp_path, tmux_shell, spawner, listening_port):
    if shutil.which("zsh") is None:
        pytest.skip("no zsh (Debian: zsh)")
    (tmp_path / ".zshrc").write_text(
        "PS1='%% '\n"
        f"fpath=({SHARE}/zsh/site-functions $fpath)\n"
        f"autoload -Uz compinit && compinit -u -d {tmp_path}/.zcompdump\n")
    shell = tmux_shell(["zsh", "-i"], shell_env(tmp_path, ZDOTDIR=str(tmp_path)))
    shell.wait_for(lambda pane: pane.strip() == "%")

    shell.type("psxj au", "Tab")
    assert last_line(shell.wait_for(lambda pane: "audit" in pane)) == "% psxj audit"
    shell.fresh_line("%")
    shell.type("psxj audit --", "Tab")
    pane = shell.wait_for(lambda pane: "--profile" in pane)
    for option in tree_options("audit"):
        assert f"\n{option} " in pane, (option, pane)
    assert "audit every daemon-like process" in pane   # with its help
    shell.fresh_line("%")
    shell.type("psxj --lang=zh demo ", "Tab")
    pane = shell.wait_for(lambda pane: "init-script" in pane)
    assert {"start", "stop", "restart", "status", "log", "unit", "jobs", "quiz"} <= set(pane.split())
    shell.fresh_line("%")
    shell.type("psxj --kind daemon,orph", "Tab")
    assert last_line(shell.wait_for(lambda pane: "orphan" in pane)).startswith("% psxj --kind daemon,orphan")
    shell.fresh_line("%")
    shell.type("psxj -u roo", "Tab")
    assert last_line(shell.wait_for(lambda pane: "root" in pane)).startswith("% psxj -u root")
    for typed in (f":{listening_port}", f"tcp:{listening_port}"):
        shell.fresh_line("%")
        shell.type(f"psxj why {typed[:-1]}", "Tab", "#")
        assert last_line(shell.wait_for(lambda pane: "#" in pane)) == f"% psxj why {typed} #"
    sleeper = spawner.sleeper(comm=WHY_COMM)
    shell.fresh_line("%")
    shell.type("psxj why psxjwhyt", "Tab", "#")
    assert last_line(shell.wait_for(lambda pane: "#" in pane)) == "% psxj why psxjwhytarget #"
    others = [name for name in os.listdir("/proc") if name.startswith(str(sleeper.pid)) and name.isdigit()]
    if others == [str(sleeper.pid)]:   # its PID is no other's prefix: completed whole
        shell.fresh_line("%")
        shell.type(f"psxj why {sleeper.pid}", "Tab", "#")
        assert last_line(shell.wait_for(lambda pane: "#" in pane)) == f"% psxj why {sleeper.pid} #"


@pytest.mark.slow
def test_fish_completes_with_the_shipped_file_among_its_vendor_completions(tmp_path, spawner, listening_port):
    if shutil.which("fish") is None:
        pytest.skip("no fish (Debian: fish)")

    def complete(line: str) -> list:
        # fish reads vendor_completions.d under each of XDG_DATA_DIRS, as under /usr/local/share (its own
        # config sets that up: an empty home, not --no-config).
        result = subprocess.run(["fish", "-c", f"complete -C {line!r}"], capture_output=True, timeout=60,
                                env=shell_env(tmp_path, XDG_DATA_DIRS=f"{SHARE}:/usr/share",
                                              XDG_CONFIG_HOME=str(tmp_path / "config")))
        assert result.returncode == 0, result.stderr.decode()
        return [row.split("\t")[0] for row in result.stdout.decode().splitlines()]

    assert complete("psxj au") == ["audit"]
    assert set(complete("psxj audit --")) == set(tree_options("audit"))
    assert complete("psxj --lang zh demo st") == ["start", "status", "stop"]
    assert complete("psxj --kind daemon,orph") == ["daemon,orphan"]
    assert "1,1" in complete("psxj -p 1,")
    assert set(complete("psxj serve --")) == set(tree_options("serve"))
    assert complete(f"psxj why :{listening_port}") == [f":{listening_port}"]
    assert f"tcp:{listening_port}" in complete("psxj why tcp:")
    sleeper = spawner.sleeper(comm=WHY_COMM)
    assert complete("psxj why psxjwhyt") == ["psxjwhytarget"]
    assert str(sleeper.pid) in complete(f"psxj why {sleeper.pid}")
    assert complete("psxj why tests/fixtures/tutorial-a") == ["tests/fixtures/tutorial-axj.txt"]
