"""Performance tests: a submission timed against the reference solution, in the same grading run.

CS:APP's malloc driver compares throughput with a constant written down years ago, on other machines; the constant
goes stale and the grade depends on the grader's hardware. Here both sides are built the same way (VARIANT=plain,
-O2, no sanitizers), run in the same sandbox with the same limits, interleaved (submission, reference, reference,
submission, ...), and compared by the median of their CPU time (user + system, measured by timer.c, so other load
on the machine matters less than for wall time). Only the ratio counts, so the grade does not depend on the machine.

A rubric declares a test (harness/README.md, "Rubrics"); the timed program is either
    perf.NAME.driver   = bench.c     a C file next to the rubric, linked with the chapter's objects, or
    perf.NAME.program  = echo-server a program mk/chapter.mk builds in the chapter's build folder,
and then
    perf.NAME.points   = 10          what it is worth
    perf.NAME.args     = ...         the program's arguments
    perf.NAME.requires = 2           optional: a part whose tests must all pass first (fast and wrong earns nothing)
    perf.NAME.full     = 1.25        full points at or below this ratio to the reference's time
    perf.NAME.zero     = 3           no points at or above this ratio; linear in between
    perf.NAME.runs     = 5           timed runs of each side
    perf.NAME.timeout  = 20          seconds per run
"""

import shutil
import statistics
import subprocess
from pathlib import Path

import build as bs
import collect
import sandbox
import score
from workbook import HARNESS

BUILD_LIMITS = dict(wall=180, memory_mb=2048, pids=128, fsize_mb=256)


def timer_program(work):
    out = Path(work) / "timer"
    if not out.exists():
        subprocess.run(["gcc", "-O2", "-o", str(out), str(HARNESS / "timer.c")], check=True, capture_output=True)
        out.chmod(0o755)
    return out


def reference_tree(workbook_root, chapter, work):
    """A second pristine tree whose `submission` folder holds the reference solution. It lives apart from the
    student's tree, which is all the student's sandboxes ever see."""
    tree = Path(work) / "reference" / "tree"
    if not tree.exists():
        tree.mkdir(parents=True)
        for name in collect.PRISTINE:
            p = Path(workbook_root) / name
            if p.is_dir():
                shutil.copytree(p, tree / name, symlinks=True)
            elif p.is_file():
                shutil.copy2(p, tree / name)
    dest = tree / "submission" / chapter.name
    dest.mkdir(parents=True, exist_ok=True)
    for s in chapter.sources:
        shutil.copyfile(Path(workbook_root) / "solutions" / chapter.name / s, dest / s)
    return tree


def _make(box, tree, out_dir, chapter, goal):
    return box.run(["make", "--no-print-directory", "-f", "mk/chapter.mk", f"CH={chapter.name}", "IMPL=submission",
                    "VARIANT=plain", f"CC={bs.CC}", f"BUILD={out_dir}", goal], cwd=tree, env=bs._tool_env(),
                   limits=sandbox.Limits(**BUILD_LIMITS), ro=[tree], rw=[out_dir])


def build_side(box, tree, out_dir, chapter, spec):
    """Builds the timed program for one side; returns (path, error message)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o777)
    try:
        if "driver" in spec:
            info = bs.make_vars(tree, chapter, out_dir, ["IMPL_OBJS", "LDLIBS_CH"], variant="plain")
            shutil.copyfile(spec["driver"], out_dir / "driver.c")
            r = _make(box, tree, out_dir, chapter, "objects")
            target = out_dir / "driver"
            if r.code == 0:
                r = box.run([bs.CC, "-std=c17", "-O2", f"-Ichapters/{chapter.name}", str(out_dir / "driver.c"),
                             *info["IMPL_OBJS"].split(), *info["LDLIBS_CH"].split(), "-o", str(target)],
                            cwd=tree, env=bs._tool_env(), limits=sandbox.Limits(**BUILD_LIMITS), ro=[tree],
                            rw=[out_dir])
        else:
            target = out_dir / "submission" / f"plain-{bs.CC}" / chapter.name / spec["program"]
            r = _make(box, tree, out_dir, chapter, str(target))
    finally:
        bs._own_by_harness(out_dir)
    if r.code != 0 or not target.is_file():
        return None, bs.compiler_message(r.text, 20)
    return target, ""


def time_once(box, tree, timer, program, args, timeout):
    out = box.run([str(timer), "@LOG@", str(program), *args], cwd=tree, env=bs._tool_env(),
                  limits=sandbox.Limits(wall=timeout, memory_mb=1024, pids=64),
                  ro=[tree, program.parent, timer], log_pipe=True)
    if out.timed_out:
        return None, f"did not finish within {timeout:g} s"
    lines = out.log.decode("ascii", "replace").splitlines()
    if len(lines) != 1 or len(lines[0].split()) != 3:
        return None, "left no single timing line (it was tampered with)"
    cpu, _wall, code = lines[0].split()
    if int(code) != 0:
        return None, f"exited with status {code}"
    return float(cpu), ""


def points(ratio, spec):
    full, zero, pts = float(spec.get("full", 1.25)), float(spec.get("zero", 3)), float(spec["points"])
    if ratio <= full:
        return pts
    if ratio >= zero:
        return 0.0
    return pts * (zero - ratio) / (zero - full)


def _entry(spec, message="", seconds=None):
    pts = float(spec["points"])
    return {"part": 0, "name": f"perf_{spec['name']}", "points": pts, "max_score": pts, "score": 0.0,
            "status": "fail", "message": message, "hint": spec.get("hint", "faster code earns these points"),
            "seconds": seconds, "output": ""}


def run_test(box, wb_root, work, chapter, raw, spec):
    entry = _entry(spec)
    if "requires" in spec:
        part = int(spec["requires"])
        _, tests = chapter.catalogue()
        if not all(score.verdict(t, raw.get(t["name"]))[0] for t in tests if t["part"] == part):
            entry["message"] = f"not timed: every test of part {part} must pass first"
            return entry
    work = Path(work)
    sides = {}
    for side, tree in (("submission", work / "tree"), ("reference", reference_tree(wb_root, chapter, work))):
        binary, err = build_side(box, tree, work / "perf" / side / chapter.name / spec["name"], chapter, spec)
        if binary is None:
            entry["message"] = f"the {side}'s program did not build: {err}"
            return entry
        sides[side] = (tree, binary)
        if side == "reference":  # built: from now on only the harness reads the reference's sources
            (tree / "submission").chmod(0o700)
    timer, args = timer_program(work), spec.get("args", "").split()
    runs, timeout = int(spec.get("runs", 5)), float(spec.get("timeout", 20))
    times = {"submission": [], "reference": []}
    for i in range(runs):
        for side in (("submission", "reference") if i % 2 == 0 else ("reference", "submission")):
            t, err = time_once(box, sides[side][0], timer, sides[side][1], args, timeout)
            if t is None:
                entry["message"] = f"the {side}'s program {err}"
                return entry
            times[side].append(t)
    sub, ref = statistics.median(times["submission"]), statistics.median(times["reference"])
    ratio = sub / max(ref, 1e-6)
    entry["score"] = round(points(ratio, spec), 4)
    entry["status"] = "pass" if entry["score"] >= entry["max_score"] else "fail"
    entry["seconds"] = round(sum(times["submission"]) + sum(times["reference"]), 3)
    entry["message"] = (f"median CPU time {sub:.4f} s against the reference's {ref:.4f} s: ratio {ratio:.2f} "
                        f"(full points up to {float(spec.get('full', 1.25)):g}, none from "
                        f"{float(spec.get('zero', 3)):g}; {runs} runs each, interleaved)")
    return entry


def run_all(box, tree, work, chapters, built, raw, rubrics):
    """Perf entries per chapter name, for chapters whose rubric declares any. Without a reference solution in
    the workbook (solutions/ not shipped) there is nothing to compare with, and the tests are left out."""
    results = {}
    for ch in chapters:
        specs = rubrics[ch.name]["perf"]
        if not specs or not (ch.root / "solutions" / ch.name).is_dir():
            continue
        b = built.get(ch.name)
        entries = []
        for spec in specs.values():
            if b is None or b.status != "built":
                entries.append(_entry(spec, "not timed: the chapter did not build"))
            else:
                try:
                    entries.append(run_test(box, ch.root, work, ch, raw.get(ch.name, {}), spec))
                except Exception as e:  # the harness's fault: this test scores 0 and says why
                    entries.append(_entry(spec, f"the harness could not time it: {e!r}"))
        results[ch.name] = entries
    return results
