"""What a student is shown of a tool's output: paths as the student knows them, sanitizer reports made readable,
everything cut to a length a report can hold. The harness builds submission/NN-name/x.c inside a work tree; to the
student that file is chapters/NN-name/x.c of their own copy of the workbook.

Every text a report carries that a submission can make long (a note, a message, a test's output, a compiler's
complaints) is cut here, to the limits below, so that no submission can make a report large: a grade holds at most
MAX_NOTES notes and, per chapter, one message and per test one message and one output, each of bounded size."""

import re
import subprocess

MAX_LINE = 400              # characters kept of one line of a tool's output
MAX_OUTPUT_LINES = 40       # lines kept of a test's own output
MAX_OUTPUT = 6000           # characters kept of a test's own output
MAX_MESSAGE = 2000          # characters kept of a test's message
MAX_CHAPTER_MESSAGE = 12000  # characters kept of a chapter's message (compiler messages, reasons for a refusal)
MAX_NOTES = 20              # notes kept per grade; one more says how many were left out
MAX_NOTE = 400              # characters kept of a note (a refused archive entry's name may be 4 KiB long)
MAX_NAME = 200              # characters kept of a submission's name

# The shared test main writes "<mark> <test name>" on a line of its own before each test when FT_MARK_OUTPUT=<mark>
# is in its environment (tests/lib/main.c), so that a run of many tests can be cut into each test's own output,
# that of the processes it started included.
OUTPUT_MARK = "FT_MARK_OUTPUT"

MAKE_CHATTER = re.compile(r"^(  (CC|LINK|CCLD|ARM|ARM CC|ARM LD) +\S|make(\[\d+\])?: )")
RUNNER_TABLE = re.compile(r"^(\d+-[\w-]+|\s+part \d+ .*points|\s+total\s.*points|\d+%: Checks: \d+.*)$")
# A frame of a sanitizer's stack trace printed with symbolize=0: "#3 0x55d0c2a1b2c3  (/path/to/test+0x1b2c3)".
RAW_FRAME = re.compile(r"^(\s*)#(\d+) (0x[0-9a-f]+)\s+(?:in \S+ )?\((/[^()\s]+)\+(0x[0-9a-f]+)\)\s*$")
FRAME = re.compile(r"^\s*#\d+ ")


def clip(text: str, limit: int, keep_end: bool = False) -> str:
    """`text`, cut to at most `limit` characters, saying so when it was cut (cutting twice changes nothing); with
    `keep_end`, the middle is cut and the end kept (a note's reason follows a name that may be 4 KiB long)."""
    if len(text) <= limit:
        return text
    mark = f" … [cut: {len(text)} characters in all] … " if keep_end else f" … [cut: {len(text)} characters in all]"
    room = max(0, limit - len(mark))
    tail = room // 3 if keep_end else 0
    return text[:room - tail] + mark + (text[len(text) - tail:] if tail else "")


def clip_list(items: list[str], limit: int, each: int, what: str) -> list[str]:
    """At most `limit` items, each clipped in its middle to `each` characters; the last one kept says how many
    were left out."""
    items = [clip(item, each, keep_end=True) for item in items]
    if len(items) <= limit:
        return items
    return items[:limit - 1] + [f"… and {len(items) - limit + 1} more {what}"]


def student_paths(text: str) -> str:
    """`text` with the work tree's paths rewritten as the student's: sources under chapters/, built programs under
    build/chapters/ (where `make check` puts them)."""
    text = re.sub(r"/\S*?/build/(\d\d-[\w-]+)/submission/", "build/chapters/", text)
    text = re.sub(r"/\S*?/tree/", "", text)
    return re.sub(r"(?<![\w/.-])submission/(?=\d\d-)", "chapters/", text)


def _first_lines(lines: list[str], limit: int) -> str:
    lines = [clip(line, MAX_LINE) for line in lines]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def compiler_message(output: str, limit: int = 60) -> str:
    """The compiler's complaints in a build's output, without make's progress lines and its own summary."""
    return clip(_first_lines([student_paths(line) for line in output.splitlines() if not MAKE_CHATTER.match(line)],
                             limit).strip(), MAX_CHAPTER_MESSAGE)


DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: (error|warning|note): ")
REPEATABLE = re.compile(r"^(\S+: (In function|At top level)|cc1: )")


def unique_diagnostics(text: str) -> str:
    """Compiler messages with each diagnostic said once: several programs built from the same source (chapter 02
    builds two for aarch64) fail with the same errors, which a student needs to read only once."""
    kept, seen, skipping = [], set(), False
    for line in text.splitlines():
        if DIAGNOSTIC.match(line) or REPEATABLE.match(line):
            skipping = line in seen
            seen.add(line)
        elif not line.startswith(" "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


# ---- one test's output ---------------------------------------------------------------------------------------------

def test_section(text: str, mark: str | None, name: str, alone: bool) -> str:
    """What test `name` printed in a run's output: the lines after its mark and before the next one. Without marks
    in the output, the whole of it when the test ran alone, else nothing (the output of a run of many tests belongs
    to none of them)."""
    if not mark or f"{mark} " not in text:
        return text if alone else ""
    kept, inside = [], False
    for line in text.splitlines():
        if line.startswith(f"{mark} "):
            inside = line == f"{mark} {name}"
            continue
        if inside:
            kept.append(line)
    return "\n".join(kept)


def symbolize(text: str, module: str, symbols: str) -> str:
    """`text` with the sanitizers' raw frames in `module` (the stripped test binary) given their function, file and
    line, read from `symbols` (its unstripped copy, which the sandbox never sees). Frames in other modules (the C
    library, the sanitizer's runtime) are shortened to the module's name."""
    lines = text.splitlines()
    frames = [(index, RAW_FRAME.match(line)) for index, line in enumerate(lines)]
    frames = [(index, match) for index, match in frames if match]
    offsets = sorted({match.group(5) for _, match in frames if match.group(4) == module})
    where = _addr2line(symbols, offsets) if offsets else {}
    for index, match in reversed(frames):
        indent, number, module_path, offset = match.group(1), match.group(2), match.group(4), match.group(5)
        if module_path == module and where.get(int(offset, 16)):
            lines[index:index + 1] = [f"{indent}#{number} in {place}" for place in where[int(offset, 16)]]
        else:
            lines[index] = f"{indent}#{number} in {module_path.rsplit('/', 1)[-1]}"
    return "\n".join(lines)


def _addr2line(symbols: str, offsets: list[str]) -> dict[int, list[str]]:
    """{offset: ["function file:line", ... its inlined callers]} for each offset addr2line can place."""
    try:
        done = subprocess.run(["addr2line", "-a", "-f", "-i", "-p", "-e", symbols, *offsets], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    where: dict[int, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        address, sep, place = line.partition(": ")
        if sep and address.startswith("0x") and not line.startswith(" "):
            current = where.setdefault(int(address, 16), [])
        else:
            place = line.replace("(inlined by)", "").strip()
        if current is None:
            continue
        function, _, location = place.strip().partition(" at ")
        location = re.sub(r" \(discriminator \d+\)$", "", location)
        current.append(function if location.startswith("??") or not location else f"{function} {location}")
    return where


def _readable_report(lines: list[str]) -> list[str]:
    """A sanitizer's report without what does not help a student: separator lines, the shadow-memory map, UBSan's
    dump of the bytes around a bad address, and the frames below the test that called the code (Check's runner,
    main, the C library's start-up)."""
    kept, in_shadow, stack_done, dump = [], False, False, 0
    for line in lines:
        if dump:
            dump -= 1
            continue
        if re.match(r"0x[0-9a-f]+: note: pointer points here$", line):
            dump = 2    # a line of bytes, a line with a caret
            continue
        if line.startswith("Shadow bytes around the buggy address"):
            in_shadow = True
        elif in_shadow and not line.startswith(("  ", "=>")) and not line.startswith("Shadow byte legend"):
            in_shadow = False
        if in_shadow or re.fullmatch(r"=+|==\d+==ABORTING", line.strip()):
            continue
        if FRAME.match(line):
            if stack_done:
                continue
            stack_done = " tests/" in line and "/lib/" not in line.split(" tests/", 1)[1]
        else:
            stack_done = False
        kept.append(line)
    return kept


def output_excerpt(text: str, limit: int = MAX_OUTPUT_LINES) -> str:
    """The first lines of what a failing test printed (a sanitizer's report, usually), made readable. The runner's
    own table and summary line say nothing the verdict does not, and are left out."""
    lines = [student_paths(line) for line in text.splitlines() if line.strip() and not RUNNER_TABLE.match(line)]
    return clip(_first_lines(_readable_report(lines), limit), MAX_OUTPUT)
