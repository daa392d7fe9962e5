"""Tests that the documentation is true: its Python runs, its commands work (#11)."""

import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
# output lines that change from run to run (times) are not compared
VOLATILE = re.compile(r"\d+\.\d+ s\b|^\.\.\.$")


def test_docs_exist_and_link():
    """Tests that the README links to every page of docs/ and to nothing outside the project."""
    readme = (ROOT / "README.md").read_text()
    assert DOCS
    for page in DOCS:
        assert f"docs/{page.name}" in readme, page.name
    for text in [readme, *(p.read_text() for p in DOCS)]:
        assert "../shared" not in text


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name
)
def test_relative_links_resolve(page):
    """Tests that every relative link of a page (Markdown links and
    images) names a file or folder of the project."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets, page.name
    for target in targets:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: {target}"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_python_examples(page):
    """Tests the pycon examples of a docs page (doctest)."""
    failures, _ = doctest.testfile(
        str(page), module_relative=False, optionflags=doctest.ELLIPSIS
    )
    assert failures == 0


def _console_blocks(text):
    """``(command, expected exit status, needs, documented output)`` per ``$`` line."""
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        for k, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            command, _, comment = line[2:].partition("  # ")
            status = re.search(r"exit (\d+)", comment)
            needs = re.search(r"needs (\w+)", comment)
            output = []
            for after in lines[k + 1 :]:
                if after.startswith("$ "):
                    break
                output.append(after)
            yield (
                command,
                int(status.group(1)) if status else 0,
                needs.group(1) if needs else None,
                output,
            )


CONSOLE = [p for p in DOCS if "```console" in p.read_text()]


@pytest.mark.parametrize("page", CONSOLE, ids=lambda p: p.name)
def test_console_examples(page, tmp_path):
    """Tests that every command of a docs page exits as documented and prints the documented lines."""
    (tmp_path / "instances").symlink_to(ROOT / "instances")
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for command, status, needs, output in _console_blocks(page.read_text()):
        if needs and importlib.util.find_spec(needs) is None:
            continue
        words = shlex.split(command)
        assert words[0] in ("pebble-sched", "echo"), command
        proc = subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        assert proc.returncode == status, (command, proc.stderr)
        assert "Traceback" not in proc.stderr, command
        shown = (proc.stdout + proc.stderr).splitlines()
        for line in output:
            if line.strip() and not VOLATILE.search(line):
                assert line in shown, (command, line, shown)
