"""What Check says about a run: the entries of its XML log, and what its terse words about a test process that did
not finish normally mean. The meanings come from tests/lib/exit_status.def, the table the shared test main reads
too, so a student's `make check` and a grade never disagree."""

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

EXIT_STATUS_TABLE = Path(__file__).resolve().parent.parent / "tests" / "lib" / "exit_status.def"
_FT_EXIT = re.compile(r'FT_EXIT\("([^"\\]*)", "([^"\\]*)"\)')


@dataclass(frozen=True)
class LogEntry:
    """One <test> element of Check's XML log."""

    name: str           # the test's name (Check's <id>)
    result: str         # "success", "failure" or "error"
    duration: float     # seconds; -1 when the test body did not run to its end
    message: str        # Check's message: the failed assertion, or how the process ended
    location: str       # Check's <fn>: file:line of the last assertion it saw


def parse_log(text: str) -> list[LogEntry] | None:
    """The entries of a Check XML log; None when the log is not well-formed XML."""
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    entries = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "test":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}
        try:
            duration = float(fields.get("duration", "-1"))
        except ValueError:
            duration = -1.0
        entries.append(LogEntry(name=fields.get("id", ""), result=element.get("result", ""), duration=duration,
                                message=fields.get("message", ""), location=fields.get("fn", "")))
    return entries


@functools.cache
def exit_meanings() -> tuple[tuple[str, str], ...]:
    """(prefix of Check's message, what it means) for every FT_EXIT line of tests/lib/exit_status.def."""
    lines = [line.strip() for line in EXIT_STATUS_TABLE.read_text().splitlines() if line.startswith("FT_EXIT")]
    table = []
    for line in lines:
        match = _FT_EXIT.fullmatch(line)
        if not match:
            raise ValueError(f"{EXIT_STATUS_TABLE}: not FT_EXIT(\"prefix\", \"meaning\"): {line}")
        table.append((match.group(1), match.group(2)))
    return tuple(table)


TIMEOUT_MESSAGE = "Test timeout expired"  # Check's whole message for a test it stopped at its time limit


def meaning(message: str) -> str:
    """What Check's message means, from the exit-status table; empty when the table does not know it. A prefix
    matches up to the end of the message, a comma or a space, so "signal 1" never explains "signal 11"."""
    for prefix, said in exit_meanings():
        if message.startswith(prefix) and message[len(prefix):len(prefix) + 1] in ("", ",", " "):
            return said
    return ""


def explain(message: str) -> str:
    """Check's message, with its meaning in parentheses when the exit-status table knows it."""
    said = meaning(message)
    return f"{message} ({said})" if said else message
