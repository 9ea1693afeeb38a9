"""The README's commands work when pasted into a shell, and its first lines are what CI runs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

from conftest import ROOT, clean_env, linux_only, needs_ps

README = ROOT / "README.md"


def console_commands(text: str):
    """(command, expected exit status) for each `$ ` line of the ```console blocks."""
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:]
                expected = 0
                match = re.search(r"\s+#\s*exits (\d+)\s*$", command)
                if match:
                    expected = int(match.group(1))
                    command = command[:match.start()]
                commands.append((command.strip(), expected))
    return commands


def test_first_lines_are_the_two_commands_and_ci_runs_the_second():
    lines = README.read_text().splitlines()
    block = lines[lines.index("```sh") + 1:lines.index("```sh") + 3]
    assert block[0].endswith("pip install . && psxj")
    assert block[1].endswith("python -m pytest -q")
    assert lines.index("```sh") < 5
    assert block[1] in (ROOT / ".ci" / "run").read_text().splitlines()


@linux_only
@needs_ps
def test_every_console_command_runs(tmp_path):
    commands = console_commands(README.read_text())
    assert len(commands) > 15
    script = ["trap 'kill $(jobs -p) 2>/dev/null' EXIT"]  # a failing step must not leave `sleep 300 &` behind
    for command, expected in commands:
        script.append(f"{command}\nstatus=$?\nif [ $status -ne {expected} ]; then "
                      f"echo {shlex.quote(f'README: exit $status, wanted {expected}: {command}')} >&2; exit 1; fi")
    env = clean_env(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    try:
        result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True,
                                timeout=180)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
    finally:
        subprocess.run([sys.executable, "-m", "psxj", "demo", "stop", "--rundir", "/tmp/psxj-readme"],
                       cwd=ROOT, env=env, capture_output=True)
        for leftover in ("/tmp/psxj-host.txt", "/tmp/psxj-one.json", "/tmp/psxj-before.txt", "/tmp/psxj-after.txt"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        shutil.rmtree("/tmp/psxj-rec", ignore_errors=True)
