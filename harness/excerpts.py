"""What a student is shown of a tool's output: paths as the student knows them, cut to a length a report can
hold. The harness builds submission/NN-name/x.c inside a work tree; to the student that file is
chapters/NN-name/x.c of their own copy of the workbook."""

import re

MAKE_CHATTER = re.compile(r"^(  (CC|LINK) |make(\[\d+\])?: )")
RUNNER_TABLE = re.compile(r"^(\d+-[\w-]+|\s+part \d+ .*points|\s+total\s.*points|\d+%: Checks: \d+.*)$")


def student_paths(text: str) -> str:
    """`text` with the work tree's paths rewritten as the student's."""
    text = re.sub(r"/\S*?/tree/", "", text)
    return re.sub(r"(?<![\w/.-])submission/(?=\d\d-)", "chapters/", text)


def _first_lines(lines: list[str], limit: int) -> str:
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def compiler_message(output: str, limit: int = 60) -> str:
    """The compiler's complaints in a build's output, without make's progress lines and its own summary."""
    return _first_lines([student_paths(line) for line in output.splitlines() if not MAKE_CHATTER.match(line)],
                        limit).strip()


def output_excerpt(text: str, limit: int = 40) -> str:
    """The first lines of what a failing test printed (a sanitizer's report, usually). The runner's own table and
    summary line say nothing the verdict does not, and are left out."""
    return _first_lines([student_paths(line) for line in text.splitlines()
                         if line.strip() and not RUNNER_TABLE.match(line)], limit)
