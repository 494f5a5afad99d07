"""mk/chapter.mk as the harness calls it. The workbook's own make rules build every chapter, and make is the one
reader of chapter.conf: the harness asks it for variables (its print-VAR goals) instead of parsing anything."""

import subprocess
from collections.abc import Sequence
from pathlib import Path

CC = "gcc"  # the compiler of every build the harness makes


class MakeError(Exception):
    """mk/chapter.mk refused a chapter (a malformed chapter.conf or fragment, an unknown chapter)."""


def tool_env() -> dict[str, str]:
    """The whole environment of a make, compiler or timed program the harness starts: nothing of the grader's."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
            "NO_COLOR": "1"}


def make_command(chapter_name: str, impl: str, *arguments: str) -> list[str]:
    """The command line of `make -f mk/chapter.mk` for one chapter, sources from `impl`, then goals and settings."""
    return ["make", "--no-print-directory", "-f", "mk/chapter.mk", f"CH={chapter_name}", f"IMPL={impl}", *arguments]


def print_vars(tree: Path, chapter_name: str, names: Sequence[str], impl: str,
               *settings: str) -> dict[str, str]:
    """Values of mk/chapter.mk's variables (chapter.conf's keys among them) for one chapter of the workbook in
    `tree`, as make computes them with `settings` (VAR=value words). Asked before anything is built into the BUILD
    the settings name, make reads pristine files only (no dependency file a compiler wrote for a student)."""
    command = make_command(chapter_name, impl, "-s", *settings, *(f"print-{name}" for name in names))
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=tool_env(), timeout=60)
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != len(names):
        raise MakeError(f"mk/chapter.mk rejected chapter {chapter_name}: {done.stderr.strip()[-600:]}")
    return dict(zip(names, (line.strip() for line in lines)))
