"""Batch grading: every submission in a folder, N at a time, into one CSV gradebook.

Each submission is graded by its own `harness/grade` process, so a submission that crashes the harness, or hangs
it past the per-submission limit, costs only its own row. Next to the gradebook, `<gradebook>-reports/` receives
each submission's JSON grade (the source of truth) and the same grade as text and as Gradescope JSON."""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import report
from archive import display_name, is_archive
from grades import Grade
from workbook import Workbook

PER_SUBMISSION_LIMIT = float(os.environ.get("FERRITE_BATCH_LIMIT", "1800"))


def submissions(folder: Path) -> list[Path]:
    """Folders and archives directly in `folder`, hidden ones left out, by name."""
    found = []
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith("."):
            continue
        if (entry.is_dir() and not entry.is_symlink()) or is_archive(entry):
            found.append(entry)
    return found


def _grade_command(entry: Path, name: str, json_report: Path, args: argparse.Namespace, inner_jobs: int) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve().parent / "grade"), "--format", "json",
               "--out", str(json_report), "--name", name, "--jobs", str(inner_jobs), "--workbook", args.workbook,
               "--rubrics", args.rubrics, "--state", args.state, "--sandbox", args.sandbox]
    for chapters in args.chapter:
        command += ["--chapter", chapters]
    return command + [str(entry)]


def grade_one(entry: Path, reports: Path, args: argparse.Namespace, inner_jobs: int) -> Grade:
    """Grades one submission in a process of its own; its reports land in `reports`."""
    name = display_name(entry)
    json_report = reports / f"{name}.json"
    started = time.monotonic()
    try:
        done = subprocess.run(_grade_command(entry, name, json_report, args, inner_jobs), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=PER_SUBMISSION_LIMIT)
        problem = "" if json_report.is_file() else \
            f"the grader exited with {done.returncode}: {done.stdout.decode()[-500:]}"
    except subprocess.TimeoutExpired:
        problem = f"grading took longer than {PER_SUBMISSION_LIMIT:g} s"
    grade = None
    if not problem:
        try:
            grade = Grade.from_json(json.loads(json_report.read_text()))
        except (OSError, ValueError, TypeError, KeyError) as error:
            problem = f"unreadable grade: {error}"
    if grade is None:
        grade = Grade(submission=name, error=problem, seconds=round(time.monotonic() - started, 2))
        json_report.write_text(report.as_json(grade))
    for report_format, suffix in (("text", ".txt"), ("gradescope", ".gradescope.json")):
        try:
            (reports / f"{name}{suffix}").write_text(report.render(grade, report_format))
        except Exception as error:  # the JSON is already written; a broken rendering must not lose the row
            grade = replace(grade, notes=(*grade.notes, f"the {report_format} report failed: {error}"))
    return grade


def main(args: argparse.Namespace) -> int:
    """Grades every submission in args.batch into the gradebook args.out."""
    entries = submissions(Path(args.batch))
    gradebook = Path(args.out)
    reports = gradebook.with_name(gradebook.stem + "-reports")
    reports.mkdir(parents=True, exist_ok=True)
    names = [chapter.name for chapter in Workbook(args.workbook).select(args.chapter)]
    jobs = max(1, args.jobs)
    inner_jobs = max(1, (os.cpu_count() or 2) // jobs)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        grades = list(pool.map(lambda entry: grade_one(entry, reports, args, inner_jobs), entries))
    partial = gradebook.with_name(f".{gradebook.name}.tmp")
    partial.write_text(report.gradebook(grades, names))
    partial.replace(gradebook)
    failed = sum(1 for grade in grades if grade.error)
    print(f"graded {len(grades)} submission(s) in {time.monotonic() - started:.1f} s with {jobs} job(s): "
          f"{gradebook} (reports in {reports}/)" + (f"; {failed} could not be graded fully" if failed else ""),
          file=sys.stderr)
    return 0
