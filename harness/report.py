"""Stage 5, report: one grade (grades.py) written as a human table, JSON, Gradescope's results.json, JUnit XML,
or a CSV gradebook row. Every writer accepts a grade whose chapters did not build or whose grading failed part
way: a report is always written. Every writer first cuts the grade's texts to the limits of excerpts.py, so no
report grows with what a submission holds (a grade read back from JSON included)."""

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace

from excerpts import (MAX_CHAPTER_MESSAGE, MAX_MESSAGE, MAX_NAME, MAX_NOTE, MAX_NOTES, MAX_OUTPUT, clip,
                      clip_list)
from grades import ChapterGrade, Grade

FORMATS = ("text", "json", "gradescope", "junit", "csv")
TEXT_OUTPUT_LINES = 20      # lines of a failed test's output in the text report (the other formats hold all of it)


def bounded(grade: Grade) -> Grade:
    """The grade with every text a submission can lengthen cut to excerpts.py's limits: the notes (a few, then how
    many more), the chapters' and the tests' messages, the tests' output, the submission's name."""
    def chapter_bounded(chapter: ChapterGrade) -> ChapterGrade:
        tests = tuple(replace(test, message=clip(test.message, MAX_MESSAGE), output=clip(test.output, MAX_OUTPUT))
                      for test in chapter.tests)
        return replace(chapter, message=clip(chapter.message, MAX_CHAPTER_MESSAGE), tests=tests)
    return replace(grade, submission=clip(grade.submission, MAX_NAME),
                   notes=tuple(clip_list(list(grade.notes), MAX_NOTES, MAX_NOTE, "notes")),
                   chapters=tuple(chapter_bounded(chapter) for chapter in grade.chapters),
                   error=clip(grade.error, MAX_CHAPTER_MESSAGE) if grade.error else grade.error,
                   traceback=clip(grade.traceback, MAX_CHAPTER_MESSAGE) if grade.traceback else grade.traceback)


def _pts(points: float) -> str:
    return f"{points:g}" if abs(points - round(points)) < 1e-9 else f"{points:.2f}"


def _where(part: int) -> str:
    return f"part {part}" if part else "perf"


def _indent(text: str, by: str = "      ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def _percent(grade: Grade) -> float:
    return 100.0 * grade.score / grade.max_score if grade.max_score else 0.0


def _header(grade: Grade) -> list[str]:
    """The sandbox, its warnings, the notes and the harness's error, one line each."""
    lines = [f"sandbox: {grade.sandbox.mode if grade.sandbox else '?'}"]
    lines += [f"warning: {warning}" for warning in (grade.sandbox.warnings if grade.sandbox else ())]
    lines += [f"note: {note}" for note in grade.notes]
    if grade.error:
        lines.append(f"error: {grade.error}")
    return lines


# ---- text ----------------------------------------------------------------------------------------------------------

def _chapter_table(chapter: ChapterGrade) -> list[str]:
    """A graded chapter as `make check` shows it: its parts, its total, then each failure with its hint."""
    # The title column is as wide as the longest title (at least 44), as in `make check`.
    width = max([44] + [len(part.title) for part in chapter.parts])
    lines = []
    for part in chapter.parts:
        label = f"part {part.part:<2}" if part.part else "perf   "
        lines.append(f"  {label} {part.title:<{width}} {part.passed:>3}/{part.tests:<3} tests "
                     f"{_pts(part.score):>6}/{_pts(part.max_score):<6} points")
    passed = sum(part.passed for part in chapter.parts)
    lines.append(f"  {'total':<{width + 8}} {passed:>3}/{len(chapter.tests):<3} tests "
                 f"{_pts(chapter.score):>6}/{_pts(chapter.max_score):<6} points")
    for test in chapter.tests:
        if test.status == "pass":
            continue
        lines.append(f"  ✗ {_where(test.part)} · {test.name} ({_pts(test.score)}/{_pts(test.max_score)} pts)")
        lines.append(_indent(test.message or "failed"))
        if test.output:
            lines.append(_indent("\n".join(test.output.splitlines()[:TEXT_OUTPUT_LINES]), "        | "))
        lines.append(f"      hint: {test.hint}")
    return lines


def text(grade: Grade) -> str:
    """The human report: a table per chapter like `make check`'s, the failures, and a summary."""
    grade = bounded(grade)
    lines = [f"Ferrite grade: {grade.submission}", *_header(grade)]
    for chapter in grade.chapters:
        lines += ["", f"{chapter.chapter} — {chapter.title}"]
        if chapter.status == "graded":
            lines += _chapter_table(chapter)
            if chapter.message:     # programs built on the side that did not build: the compiler's errors
                lines.append(_indent(chapter.message, "    "))
            continue
        lines.append(f"  {chapter.status}: {_pts(chapter.score)}/{_pts(chapter.max_score)} points")
        if chapter.message:
            lines.append(_indent(chapter.message, "    "))
    lines += ["", "Summary"]
    for chapter in grade.chapters:
        state = "" if chapter.status == "graded" else f"  ({chapter.status})"
        lines.append(f"  {chapter.chapter:<30} {_pts(chapter.score):>7}/{_pts(chapter.max_score):<7} points{state}")
    lines.append(f"  {'total':<30} {_pts(grade.score):>7}/{_pts(grade.max_score):<7} points  "
                 f"({_percent(grade):.1f}%)")
    lines.append(f"  graded in {grade.seconds:.1f} s")
    return "\n".join(lines) + "\n"


# ---- JSON ----------------------------------------------------------------------------------------------------------

def as_json(grade: Grade) -> str:
    """The JSON report: the grade itself, every field (harness/README.md, "Reports")."""
    return json.dumps(bounded(grade).to_json(), indent=2, ensure_ascii=False) + "\n"


# ---- Gradescope ------------------------------------------------------------------------------------------------------

def gradescope(grade: Grade) -> str:
    """Gradescope's results.json: score, tests with name, score, max_score, status, output, visibility."""
    grade = bounded(grade)
    top = _header(grade)
    tests = []
    for chapter in grade.chapters:
        if chapter.status != "graded" or chapter.message:
            top.append(f"{chapter.chapter}: {chapter.status}\n{chapter.message}")
        for test in chapter.tests:
            body = [] if test.status == "pass" else [test.message, f"hint: {test.hint}"]
            if test.output:
                body.append(test.output)
            tests.append({
                "name": f"{chapter.chapter} · {_where(test.part)} · {test.name}",
                "score": test.score, "max_score": test.max_score,
                "status": "passed" if test.status == "pass" else "failed",
                "output": "\n".join(body), "visibility": "visible",
            })
    results = {"score": grade.score, "max_score": grade.max_score, "output": "\n".join(top),
               "execution_time": round(grade.seconds), "visibility": "visible",
               "stdout_visibility": "hidden", "tests": tests}
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


# ---- JUnit ----------------------------------------------------------------------------------------------------------

def junit(grade: Grade) -> str:
    """JUnit XML: a testsuite per part (its points in properties), a failure per failed test, an error per test of
    a chapter that was not graded (the compiler's messages on the first, which the others point to)."""
    grade = bounded(grade)
    root = ET.Element("testsuites", name=f"ferrite: {grade.submission}")
    all_tests = all_failed = 0
    for chapter in grade.chapters:
        said = False    # whether the chapter's message is already in the report
        for part in chapter.parts:
            tests = [test for test in chapter.tests if test.part == part.part]
            suite = ET.SubElement(root, "testsuite", name=f"{chapter.chapter} / {_where(part.part)}: {part.title}",
                                  tests=str(len(tests)), failures="0", errors="0",
                                  time=f"{sum(test.seconds or 0 for test in tests):.3f}")
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="score", value=_pts(part.score))
            ET.SubElement(properties, "property", name="max_score", value=_pts(part.max_score))
            if chapter.status == "graded" and chapter.message and not said:
                ET.SubElement(suite, "system-out").text = chapter.message
                said = True
            failures = errors = 0
            for test in tests:
                case = ET.SubElement(suite, "testcase", name=test.name, time=f"{test.seconds or 0:.3f}",
                                     classname=f"{chapter.chapter}.{_where(part.part).replace(' ', '')}")
                if test.status == "pass":
                    continue
                if chapter.status != "graded":
                    errors += 1
                    element = ET.SubElement(case, "error", message=f"{chapter.status}", type=chapter.status)
                    element.text = chapter.message if not said else \
                        f"{chapter.chapter}: {chapter.status}; the reason is on the chapter's first test"
                    said = True
                else:
                    failures += 1
                    element = ET.SubElement(case, "failure", message=test.message[:500], type="fail")
                    element.text = "\n".join(filter(None, [test.message, f"hint: {test.hint}", test.output]))
            suite.set("failures", str(failures))
            suite.set("errors", str(errors))
            all_tests += len(tests)
            all_failed += failures + errors
    root.set("tests", str(all_tests))
    root.set("failures", str(all_failed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- CSV gradebook ---------------------------------------------------------------------------------------------------

def csv_header(chapter_names: Sequence[str]) -> list[str]:
    """The gradebook's columns: totals, a column per chapter, status, notes."""
    return ["submission", "score", "max_score", "percent", *chapter_names, "status", "notes"]


def csv_row(grade: Grade, chapter_names: Sequence[str]) -> list[str]:
    """One submission's gradebook row: totals, a score per chapter, a status and the notes."""
    grade = bounded(grade)
    by_name = {chapter.chapter: chapter for chapter in grade.chapters}
    cells = [grade.submission, _pts(grade.score), _pts(grade.max_score), f"{_percent(grade):.1f}"]
    cells += [_pts(by_name[name].score) if name in by_name else "" for name in chapter_names]
    states = sorted({chapter.status for chapter in grade.chapters if chapter.status != "graded"})
    status = "error" if grade.error else ("ok" if not states else ",".join(states))
    notes = list(grade.notes) + ([grade.error] if grade.error else [])
    return cells + [status, " | ".join(notes)[:1000]]


def gradebook(grades: Sequence[Grade], chapter_names: Sequence[str]) -> str:
    """The CSV gradebook: a header, then a row per grade."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header(chapter_names))
    for grade in grades:
        writer.writerow(csv_row(grade, chapter_names))
    return buffer.getvalue()


def render(grade: Grade, report_format: str) -> str:
    """The grade in one of FORMATS."""
    if report_format == "text":
        return text(grade)
    if report_format == "json":
        return as_json(grade)
    if report_format == "gradescope":
        return gradescope(grade)
    if report_format == "junit":
        return junit(grade)
    if report_format == "csv":
        return gradebook([grade], [chapter.chapter for chapter in grade.chapters])
    raise ValueError(f"unknown format {report_format!r}; one of {', '.join(FORMATS)}")
