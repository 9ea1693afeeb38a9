"""The README's and docs/'s commands work when pasted into a shell, their links lead somewhere, and the
README's first lines are what CI runs.

An example is a `$ ` line of a ```console block; `# exits N` at its end is the exit status it must have
(0 otherwise). Each page's examples run in order in one bash, as a reader pasting them would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, clean_env, linux_only, needs_ps

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
# What the examples leave behind when one fails halfway.
LEFTOVER_FILES = ("/tmp/psxj-host.txt", "/tmp/psxj-one.json", "/tmp/psxj-before.txt", "/tmp/psxj-after.txt")


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


def page_id(page) -> str:
    return str(page.relative_to(ROOT))


def test_the_readme_is_short_and_leads_to_every_page_of_docs():
    text = README.read_text()
    assert len(text.splitlines()) < 200, "the README is read in five minutes: move the depth into docs/"
    assert len(console_commands(text)) >= 8   # a handful of examples, run below
    linked = {target for target, _line in relative_links(README)}
    for page in DOCS:
        assert f"docs/{page.name}" in linked, f"README.md does not link to docs/{page.name}"


@linux_only
@needs_ps
@pytest.mark.parametrize("page", [page for page in PAGES if console_commands(page.read_text())], ids=page_id)
def test_every_console_command_runs(page, tmp_path):
    commands = console_commands(page.read_text())
    script = ["trap 'kill $(jobs -p) 2>/dev/null' EXIT"]  # a failing step must not leave `sleep 300 &` behind
    for command, expected in commands:
        script.append(f"{command}\nstatus=$?\nif [ $status -ne {expected} ]; then "
                      f"printf '%s: exit %s, wanted %s: %s\\n' {shlex.quote(page_id(page))} $status {expected} "
                      f"{shlex.quote(command)} >&2; exit 1; fi")
    env = clean_env(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    try:
        result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True,
                                timeout=180)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
    finally:
        subprocess.run([sys.executable, "-m", "psxj", "demo", "stop", "--rundir", "/tmp/psxj-readme"],
                       cwd=ROOT, env=env, capture_output=True)
        for leftover in LEFTOVER_FILES:
            if os.path.exists(leftover):
                os.unlink(leftover)
        shutil.rmtree("/tmp/psxj-rec", ignore_errors=True)


def test_the_pages_have_examples_to_run():
    """The docs that show commands show them as runnable examples, so the test above runs them."""
    counts = {page.name: len(console_commands(page.read_text())) for page in PAGES}
    assert counts["README.md"] >= 8 and counts["guide.md"] >= 15 and counts["daemons.md"] >= 8 \
        and counts["lab.md"] >= 8, counts


# --- links -------------------------------------------------------------------------------------------

def relative_links(page):
    """(target, line number) of each link and image in `page` that is not a URL: [text](target)."""
    links = []
    text = re.sub(r"```.*?```", lambda block: "\n" * block.group(0).count("\n"), page.read_text(), flags=re.S)
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"`[^`]*`", "", line)   # code spans are not links
        for target in re.findall(r"\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)", line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):   # https:, mailto:
                links.append((target, number))
    return links


def anchors(page) -> set:
    """The anchors GitHub makes for a page's headings: lower case, punctuation out, spaces to -."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    made, seen = set(), {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        made.add(slug if count == 0 else f"{slug}-{count}")
    return made


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_leads_to_a_file_and_a_heading_there(page):
    links = relative_links(page)
    assert page != README or len(links) >= 10
    for target, number in links:
        path, _hash, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        assert where.exists(), f"{page_id(page)}:{number}: {target}: no such file"
        assert where.is_relative_to(ROOT), f"{page_id(page)}:{number}: {target} is outside the repository"
        if anchor and where.suffix == ".md":
            assert anchor in anchors(where), f"{page_id(page)}:{number}: {target}: no such heading"


def test_the_link_checks_see_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[a](missing.md) [b](#title) [c](https://example.org/x) `[d](e)`\n"
                    "```\n[f](g)\n```\n![h](pictures/h.png \"caption\")\n")
    assert relative_links(page) == [("missing.md", 3), ("#title", 3), ("pictures/h.png", 7)]
    assert anchors(page) == {"title"}
    assert "why-does-it-run-psxj-why" in anchors(ROOT / "docs" / "daemons.md")
