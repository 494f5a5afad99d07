"""Batch grading: every submission in a folder, N at a time, into one CSV gradebook.

Each submission is graded by its own `harness/grade` process, so a submission that crashes the harness, or hangs
it past the per-submission limit, costs only its own row. Next to the gradebook, `<gradebook>-reports/` receives
each submission's JSON grade (the source of truth) and the same grade as text and as Gradescope JSON."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import collect
import report
from workbook import Workbook

PER_SUBMISSION_LIMIT = float(os.environ.get("FERRITE_BATCH_LIMIT", "1800"))


def submissions(folder):
    """Folders and archives directly in `folder`, hidden ones left out, by name."""
    found = []
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith("."):
            continue
        if (p.is_dir() and not p.is_symlink()) or collect.is_archive(p):
            found.append(p)
    return found


def display_name(path):
    name = path.name
    for suffix in sorted(collect.ARCHIVES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def grade_one(entry, reports, a, inner_jobs):
    name = display_name(entry)
    out = reports / f"{name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "grade"), "--format", "json", "--out", str(out),
           "--name", name, "--jobs", str(inner_jobs), "--workbook", a.workbook, "--rubrics", a.rubrics,
           "--state", a.state, "--sandbox", a.sandbox]
    for c in a.chapter:
        cmd += ["--chapter", c]
    cmd.append(str(entry))
    started = time.monotonic()
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=PER_SUBMISSION_LIMIT)
        problem = "" if out.is_file() else f"the grader exited with {r.returncode}: {r.stdout.decode()[-500:]}"
    except subprocess.TimeoutExpired:
        problem = f"grading took longer than {PER_SUBMISSION_LIMIT:g} s"
    grade = None
    if not problem:
        try:
            grade = json.loads(out.read_text())
        except (OSError, ValueError) as e:
            problem = f"unreadable grade: {e}"
    if grade is None:
        grade = {"submission": name, "chapters": [], "notes": [], "score": 0.0, "max_score": 0.0,
                 "error": problem, "seconds": round(time.monotonic() - started, 2)}
        out.write_text(report.as_json(grade))
    for fmt, suffix in (("text", ".txt"), ("gradescope", ".gradescope.json")):
        try:
            (reports / f"{name}{suffix}").write_text(report.render(grade, fmt))
        except Exception as e:  # the JSON is already written; a broken rendering must not lose the row
            grade.setdefault("notes", []).append(f"the {fmt} report failed: {e}")
    return grade


def main(a):
    folder = Path(a.batch)
    entries = submissions(folder)
    gradebook = Path(a.out)
    reports = gradebook.with_name(gradebook.stem + "-reports")
    reports.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in Workbook(a.workbook).select([c for arg in a.chapter for c in arg.split(",") if c])]
    jobs = max(1, a.jobs)
    inner = max(1, (os.cpu_count() or 2) // jobs)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        grades = list(pool.map(lambda e: grade_one(e, reports, a, inner), entries))
    tmp = gradebook.with_name(f".{gradebook.name}.tmp")
    tmp.write_text(report.gradebook(grades, names))
    tmp.replace(gradebook)
    failed = sum(1 for g in grades if g.get("error"))
    print(f"graded {len(grades)} submission(s) in {time.monotonic() - started:.1f} s with {jobs} job(s): "
          f"{gradebook} (reports in {reports}/)" + (f"; {failed} could not be graded fully" if failed else ""),
          file=sys.stderr)
    return 0
