"""Stage 4, score: turn what the sandbox observed into verdicts and points.

Test names, parts, points and hints come from the pristine test sources (workbook.py). A test passes only when
all of these hold for its own invocation:
  - Check's log, read from the harness's pipe, holds exactly one result, for exactly this test, and it is success;
  - the test body ran to its end (Check records a duration only then: a test whose process calls exit(0) part way
    is "success" to Check, with duration -1, and a failure here) -- except for tests that must die by a signal;
  - the runner exited with status 0, within the time limit, without flooding its output.
A result for a name not asked for is ignored; a test without a result scores 0. Weights come from the rubric."""

import re
import xml.etree.ElementTree as ET

from build import student_paths

EXPLAIN = [
    ("Early exit with return value 1", "AddressSanitizer or UBSan stopped the test: its report is in the output"),
    ("Early exit with return value 23", "LeakSanitizer found a leak: the output shows where it was allocated"),
    ("Received signal 11", "a crash (segmentation fault)"),
    ("Received signal 6", "abort: an assertion or a sanitizer stopped the program"),
    ("Received signal 9", "killed: usually the memory limit"),
    ("Test timeout expired", "an endless loop, or a wait that never ends"),
]


def parse_log(text):
    """The <test> entries of a Check XML log, as dicts; None when the log is not well-formed XML."""
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    entries = []
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "test":
            continue
        field = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in el}
        try:
            duration = float(field.get("duration", "-1"))
        except ValueError:
            duration = -1.0
        entries.append({"id": field.get("id", ""), "result": el.get("result", ""), "duration": duration,
                        "message": field.get("message", ""), "fn": field.get("fn", "")})
    return entries


def explain(message):
    for prefix, meaning in EXPLAIN:
        if message.startswith(prefix):
            return f"{message} ({meaning})"
    return message


def _limits_note(r):
    notes = []
    if r.get("oom"):
        notes.append(f"the memory limit of {r['memory_mb']} MiB was reached")
    if r.get("pids_hit"):
        notes.append("the limit on processes was reached")
    return f" ({'; '.join(notes)})" if notes else ""


def verdict(test, r):
    """(passed, message) for one catalogue test and its raw run result (run.py), or None when it never ran."""
    if r is None:
        return False, "no result: the test was never run"
    if "skipped" in r or "error" in r:
        return False, r.get("skipped") or r.get("error")
    if r["timed_out"]:
        return False, f"did not finish within {r['wall_limit']:g} s{_limits_note(r)}"
    if r["output_overflow"]:
        return False, f"printed more than {r['max_output'] // 1024} KiB, the limit; stopped"
    entries = [r["entry"]] if "entry" in r else parse_log(r["log"])
    if r["log_overflow"] or entries is None:
        return False, "the test log is not Check's: something other than the runner wrote to it"
    if not entries:
        why = f"exit status {r['code']}" if r["code"] < 128 else f"killed by signal {r['code'] - 128}"
        return False, f"no result: the test binary stopped before the test ran ({why}){_limits_note(r)}"
    if len(entries) != 1 or entries[0]["id"] != test["name"]:
        return False, (f"the test log holds {len(entries)} result(s), not one for {test['name']}: something other "
                       "than the runner wrote to it")
    e = entries[0]
    if e["result"] != "success":
        return False, explain(e["message"]) + _limits_note(r)
    if not test["signal"] and e["duration"] < 0:
        return False, ("the test process exited before the test finished (exit() or _exit() inside the code under "
                       "test): Check counts that as success, the harness does not")
    if r["code"] != 0:
        return False, f"the log says passed but the runner exited with status {r['code']}"
    return True, ""


RUNNER_TABLE = re.compile(r"^(\d+-[\w-]+|\s+part \d+ .*points|\s+total\s.*points|\d+%: Checks: \d+.*)$")


def output_excerpt(text, limit=40):
    """The first lines of what a failing test printed (a sanitizer's report, usually), for the report; the
    runner's own table and summary line say nothing the verdict does not, and are left out."""
    lines = [student_paths(ln) for ln in text.splitlines() if ln.strip() and not RUNNER_TABLE.match(ln)]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def _scales(tests, rubric):
    """Multiplier per part: the rubric's part.N points spread over the part's tests in proportion to their
    points; then the chapter total scaled to the rubric's `chapter` points."""
    part_points = {}
    for t in tests:
        part_points[t["part"]] = part_points.get(t["part"], 0) + t["points"]
    scale = {p: (rubric["parts"][p] / pts if p in rubric["parts"] and pts else 1.0) for p, pts in part_points.items()}
    return scale


def score_chapter(chapter, files, built, raw, rubric, perf=None):
    parts, tests = chapter.catalogue()
    tests = sorted(tests, key=lambda t: t["part"])  # source order within a part
    scale = _scales(tests, rubric)
    graded = built is not None and built.status == "built"
    entries = []
    for t in tests:
        r = raw.get(t["name"]) if graded else None
        passed, message = verdict(t, r) if graded else (False, f"not run: {built.status if built else 'missing'}")
        max_score = t["points"] * scale[t["part"]]
        entries.append({
            "part": t["part"], "name": t["name"], "points": t["points"], "max_score": max_score,
            "score": max_score if passed else 0.0, "status": "pass" if passed else "fail", "message": message,
            "hint": t["hint"], "seconds": (r or {}).get("seconds"),
            "output": output_excerpt((r or {}).get("output", "")) if not passed else "",
        })
    for p in perf or []:
        entries.append(p)
    total_max = sum(e["max_score"] for e in entries)
    if rubric["chapter"] is not None and total_max:
        k = rubric["chapter"] / total_max
        for e in entries:
            e["max_score"] *= k
            e["score"] *= k
    for e in entries:
        e["max_score"], e["score"] = round(e["max_score"], 4), round(e["score"], 4)
    part_rows = []
    titles = dict(parts)
    if perf:
        titles[0] = "performance against the reference solution"
    for number in sorted({e["part"] for e in entries}, key=lambda n: (n == 0, n)):  # performance (0) last
        mine = [e for e in entries if e["part"] == number]
        part_rows.append({"part": number, "title": titles.get(number, "?"), "tests": len(mine),
                          "passed": sum(e["status"] == "pass" for e in mine),
                          "score": round(sum(e["score"] for e in mine), 4),
                          "max_score": round(sum(e["max_score"] for e in mine), 4)})
    status = "graded" if graded else (built.status if built else "missing")
    message = built.message if built is not None and not graded else ""
    if status == "missing":
        message = "no files for this chapter in the submission"
    return {
        "chapter": chapter.name, "title": chapter.title, "status": status, "message": message, "files": files,
        "build_seconds": round(built.seconds, 2) if built else 0.0, "parts": part_rows, "tests": entries,
        "score": round(sum(e["score"] for e in entries), 4),
        "max_score": round(sum(e["max_score"] for e in entries), 4),
    }


def total(chapters):
    return round(sum(c["score"] for c in chapters), 4), round(sum(c["max_score"] for c in chapters), 4)
