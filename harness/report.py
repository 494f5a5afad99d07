"""Stage 5, report: one grade (score.py's dict) written as a human table, JSON, Gradescope's results.json, JUnit
XML, or a CSV gradebook row. Every writer accepts a grade whose chapters did not build or whose grading failed
part way: a report is always written."""

import csv
import io
import json
import xml.etree.ElementTree as ET

FORMATS = ("text", "json", "gradescope", "junit", "csv")


def _pts(x):
    return f"{x:g}" if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def _where(part):
    return f"part {part}" if part else "perf"


def _indent(text, by="      "):
    return "\n".join(by + ln for ln in text.splitlines())


# ---- text ----------------------------------------------------------------------------------------------------------

def text(grade):
    out = [f"Ferrite grade: {grade['submission']}"]
    box = grade.get("sandbox", {})
    out.append(f"sandbox: {box.get('mode', '?')}")
    for w in box.get("warnings", []):
        out.append(f"warning: {w}")
    for n in grade.get("notes", []):
        out.append(f"note: {n}")
    if grade.get("error"):
        out.append(f"error: {grade['error']}")
    for ch in grade["chapters"]:
        out.append("")
        out.append(f"{ch['chapter']} — {ch['title']}")
        if ch["status"] != "graded":
            out.append(f"  {ch['status']}: {_pts(ch['score'])}/{_pts(ch['max_score'])} points")
            if ch["message"]:
                out.append(_indent(ch["message"], "    "))
            continue
        # The title column is as wide as the longest title (at least 44), as in `make check`.
        width = max([44] + [len(p["title"]) for p in ch["parts"]])
        for p in ch["parts"]:
            label = f"part {p['part']:<2}" if p["part"] else "perf   "
            out.append(f"  {label} {p['title']:<{width}} {p['passed']:>3}/{p['tests']:<3} tests "
                       f"{_pts(p['score']):>6}/{_pts(p['max_score']):<6} points")
        out.append(f"  {'total':<{width + 8}} {sum(p['passed'] for p in ch['parts']):>3}/{len(ch['tests']):<3} tests "
                   f"{_pts(ch['score']):>6}/{_pts(ch['max_score']):<6} points")
        for t in ch["tests"]:
            if t["status"] == "pass":
                continue
            out.append(f"  ✗ {_where(t['part'])} · {t['name']} ({_pts(t['score'])}/{_pts(t['max_score'])} pts)")
            out.append(_indent(t["message"] or "failed"))
            if t.get("output"):
                out.append(_indent("\n".join(t["output"].splitlines()[:12]), "        | "))
            out.append(f"      hint: {t['hint']}")
    out.append("")
    out.append("Summary")
    for ch in grade["chapters"]:
        state = "" if ch["status"] == "graded" else f"  ({ch['status']})"
        out.append(f"  {ch['chapter']:<30} {_pts(ch['score']):>7}/{_pts(ch['max_score']):<7} points{state}")
    pct = 100.0 * grade["score"] / grade["max_score"] if grade["max_score"] else 0.0
    out.append(f"  {'total':<30} {_pts(grade['score']):>7}/{_pts(grade['max_score']):<7} points  ({pct:.1f}%)")
    out.append(f"  graded in {grade.get('seconds', 0):.1f} s")
    return "\n".join(out) + "\n"


# ---- JSON ----------------------------------------------------------------------------------------------------------

def as_json(grade):
    return json.dumps(grade, indent=2, ensure_ascii=False) + "\n"


# ---- Gradescope ------------------------------------------------------------------------------------------------------

def gradescope(grade):
    """Gradescope's results.json: score, tests with name, score, max_score, status, output, visibility."""
    top = [f"sandbox: {grade.get('sandbox', {}).get('mode', '?')}"]
    top += [f"warning: {w}" for w in grade.get("sandbox", {}).get("warnings", [])]
    top += [f"note: {n}" for n in grade.get("notes", [])]
    if grade.get("error"):
        top.append(f"error: {grade['error']}")
    tests = []
    for ch in grade["chapters"]:
        if ch["status"] != "graded":
            top.append(f"{ch['chapter']}: {ch['status']}\n{ch['message']}")
        for t in ch["tests"]:
            body = [] if t["status"] == "pass" else [t["message"], f"hint: {t['hint']}"]
            if t.get("output"):
                body.append(t["output"])
            tests.append({
                "name": f"{ch['chapter']} · {_where(t['part'])} · {t['name']}",
                "score": t["score"], "max_score": t["max_score"],
                "status": "passed" if t["status"] == "pass" else "failed",
                "output": "\n".join(body), "visibility": "visible",
            })
    doc = {"score": grade["score"], "max_score": grade["max_score"], "output": "\n".join(top),
           "execution_time": round(grade.get("seconds", 0)), "visibility": "visible",
           "stdout_visibility": "hidden", "tests": tests}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ---- JUnit ----------------------------------------------------------------------------------------------------------

def junit(grade):
    root = ET.Element("testsuites", name=f"ferrite: {grade['submission']}")
    n_all = n_fail = 0
    for ch in grade["chapters"]:
        for p in ch["parts"]:
            tests = [t for t in ch["tests"] if t["part"] == p["part"]]
            suite = ET.SubElement(root, "testsuite", name=f"{ch['chapter']} / {_where(p['part'])}: {p['title']}",
                                  tests=str(len(tests)), failures="0", errors="0",
                                  time=f"{sum(t.get('seconds') or 0 for t in tests):.3f}")
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="score", value=_pts(p["score"]))
            ET.SubElement(props, "property", name="max_score", value=_pts(p["max_score"]))
            fails = errors = 0
            for t in tests:
                case = ET.SubElement(suite, "testcase", name=t["name"], time=f"{t.get('seconds') or 0:.3f}",
                                     classname=f"{ch['chapter']}.{_where(p['part']).replace(' ', '')}")
                if t["status"] == "pass":
                    continue
                if ch["status"] != "graded":
                    errors += 1
                    el = ET.SubElement(case, "error", message=f"{ch['status']}", type=ch["status"])
                    el.text = ch["message"]
                else:
                    fails += 1
                    el = ET.SubElement(case, "failure", message=t["message"][:500], type="fail")
                    el.text = "\n".join(filter(None, [t["message"], f"hint: {t['hint']}", t.get("output", "")]))
            suite.set("failures", str(fails))
            suite.set("errors", str(errors))
            n_all += len(tests)
            n_fail += fails + errors
    root.set("tests", str(n_all))
    root.set("failures", str(n_fail))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- CSV gradebook ---------------------------------------------------------------------------------------------------

def csv_header(chapter_names):
    return ["submission", "score", "max_score", "percent", *chapter_names, "status", "notes"]


def csv_row(grade, chapter_names):
    by_name = {c["chapter"]: c for c in grade["chapters"]}
    pct = 100.0 * grade["score"] / grade["max_score"] if grade["max_score"] else 0.0
    cells = [grade["submission"], _pts(grade["score"]), _pts(grade["max_score"]), f"{pct:.1f}"]
    for name in chapter_names:
        c = by_name.get(name)
        cells.append(_pts(c["score"]) if c else "")
    states = sorted({c["status"] for c in grade["chapters"] if c["status"] != "graded"})
    status = "error" if grade.get("error") else ("ok" if not states else ",".join(states))
    notes = list(grade.get("notes", [])) + ([grade["error"]] if grade.get("error") else [])
    cells += [status, " | ".join(notes)[:1000]]
    return cells


def gradebook(grades, chapter_names):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_header(chapter_names))
    for g in grades:
        w.writerow(csv_row(g, chapter_names))
    return buf.getvalue()


def render(grade, fmt):
    if fmt == "text":
        return text(grade)
    if fmt == "json":
        return as_json(grade)
    if fmt == "gradescope":
        return gradescope(grade)
    if fmt == "junit":
        return junit(grade)
    if fmt == "csv":
        return gradebook([grade], [c["chapter"] for c in grade["chapters"]])
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
