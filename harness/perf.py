"""Performance tests (part of stage 4): a submission timed against the reference solution, in the same grading run.

CS:APP's malloc driver compares throughput with a constant written down years ago, on other machines; the constant
goes stale and the grade depends on the grader's hardware. Here both sides are built the same way (VARIANT=plain,
-O2, no sanitizers), run in the same sandbox with the same limits, interleaved (submission, reference, reference,
submission, ...), and compared by the median of their CPU time (user + system, measured by timer.c, so other load
on the machine matters less than for wall time). Only the ratio counts, so the grade does not depend on the machine.

A rubric declares a test (rubric.py's PerfSpec; harness/README.md, "Rubrics"): the timed program is either a C
driver beside the rubric, linked with the chapter's objects, or a program mk/chapter.mk builds."""

import shlex
import shutil
import statistics
import subprocess
from collections.abc import Mapping
from pathlib import Path

import chaptermk
import sandbox
from chaptermk import CC
from excerpts import compiler_message
from grades import TestScore
from records import Built, TestRun
from rubric import PerfSpec, Rubric
from verdict import judge
from workbook import HARNESS, Chapter
from worktree import copy_pristine, own_by_harness

BUILD_LIMITS = sandbox.Limits(wall=180, memory_mb=2048, pids=128, fsize_mb=256)
SIDES = ("submission", "reference")
RETIMES = 2  # more batches of rounds for a ratio short of full points (run_test)


class PerfFailure(Exception):
    """A performance test that earns nothing, and why (the message of its score)."""


def timer_program(work: Path) -> Path:
    """Compiles timer.c (see its header) into the work directory, once; returns its path."""
    timer = Path(work) / "timer"
    if not timer.exists():
        subprocess.run(["gcc", "-O2", "-o", str(timer), str(HARNESS / "timer.c")], check=True, capture_output=True)
        timer.chmod(0o755)
    return timer


def reference_tree(chapter: Chapter, work: Path) -> Path:
    """A second pristine tree whose `submission` folder holds the reference solution. It lives apart from the
    student's tree, which is all the student's sandboxes ever see."""
    tree = Path(work) / "reference" / "tree"
    if not tree.exists():
        copy_pristine(chapter.root, tree)
    dest = tree / "submission" / chapter.name
    dest.mkdir(parents=True, exist_ok=True)
    for source in chapter.sources:
        shutil.copyfile(chapter.root / "solutions" / chapter.name / source, dest / source)
    return tree


def _sandboxed(box: sandbox.Sandbox, tree: Path, out_dir: Path, argv: list[str]) -> sandbox.Outcome:
    return box.run(argv, cwd=tree, env=chaptermk.tool_env(), limits=BUILD_LIMITS, read_only=[tree],
                   writable=[out_dir])


def _build_driver(box: sandbox.Sandbox, tree: Path, out_dir: Path, chapter: Chapter,
                  spec: PerfSpec) -> tuple[sandbox.Outcome, Path]:
    """The rubric's C driver, linked with the objects the test binary links (the student's and the given)."""
    make_vars = chaptermk.print_vars(tree, chapter.name, ["LINKED_OBJS", "LDLIBS_CH", "CPPFLAGS_CH"], "submission",
                                     "VARIANT=plain", f"CC={CC}", f"BUILD={out_dir}")
    shutil.copyfile(spec.driver, out_dir / "driver.c")
    target = out_dir / "driver"
    outcome = _sandboxed(box, tree, out_dir, chaptermk.make_command(chapter.name, "submission", "VARIANT=plain",
                                                                    f"CC={CC}", f"BUILD={out_dir}", "objects"))
    if outcome.code == 0:
        outcome = _sandboxed(box, tree, out_dir, [CC, "-std=c17", "-O2", *shlex.split(make_vars["CPPFLAGS_CH"]),
                                                  str(out_dir / "driver.c"), *make_vars["LINKED_OBJS"].split(),
                                                  *make_vars["LDLIBS_CH"].split(), "-o", str(target)])
    return outcome, target


def build_side(box: sandbox.Sandbox, tree: Path, out_dir: Path, chapter: Chapter, spec: PerfSpec) -> Path:
    """Builds the timed program of one side; returns its path, or raises PerfFailure with the compiler's words."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o777)
    try:
        if spec.driver is not None:
            outcome, target = _build_driver(box, tree, out_dir, chapter, spec)
        else:
            target = out_dir / "submission" / f"plain-{CC}" / chapter.name / spec.program
            outcome = _sandboxed(box, tree, out_dir, chaptermk.make_command(
                chapter.name, "submission", "VARIANT=plain", f"CC={CC}", f"BUILD={out_dir}", str(target)))
    finally:
        own_by_harness(out_dir)
    if outcome.code != 0 or not target.is_file():
        raise PerfFailure(compiler_message(outcome.text, 20))
    return target


def time_once(box: sandbox.Sandbox, tree: Path, timer: Path, program: Path, spec: PerfSpec) -> float:
    """CPU seconds of one run of `program`, or PerfFailure saying what went wrong."""
    outcome = box.run([str(timer), "@LOG@", str(program), *spec.args], cwd=tree, env=chaptermk.tool_env(),
                      limits=sandbox.Limits(wall=spec.timeout, memory_mb=1024, pids=64),
                      read_only=[tree, program.parent, timer], log_pipe=True)
    if outcome.timed_out:
        raise PerfFailure(f"did not finish within {spec.timeout:g} s")
    lines = outcome.log.decode("ascii", "replace").splitlines()
    if len(lines) != 1 or len(lines[0].split()) != 3:
        raise PerfFailure("left no single timing line (it was tampered with)")
    cpu_seconds, _wall_seconds, code = lines[0].split()
    if int(code) != 0:
        raise PerfFailure(f"exited with status {code}")
    return float(cpu_seconds)


def points(ratio: float, spec: PerfSpec) -> float:
    """What a CPU-time ratio (submission / reference) earns: full points up to spec.full, none from spec.zero."""
    if ratio <= spec.full:
        return spec.points
    if ratio >= spec.zero:
        return 0.0
    return spec.points * (spec.zero - ratio) / (spec.zero - spec.full)


def _score(spec: PerfSpec, message: str, score: float = 0.0, seconds: float | None = None,
           timed: bool = False) -> TestScore:
    """The test's score; it passes when it was timed and earned its full points."""
    return TestScore(part=0, name=f"perf_{spec.name}", points=spec.points, max_score=spec.points, score=score,
                     status="pass" if timed and score >= spec.points else "fail", message=message, hint=spec.hint,
                     seconds=seconds, output="")


def _required_part_passes(chapter: Chapter, runs: Mapping[str, TestRun], part: int) -> bool:
    return all(judge(test, runs.get(test.name)).passed for test in chapter.catalogue().tests if test.part == part)


def run_test(box: sandbox.Sandbox, work: Path, chapter: Chapter, runs: Mapping[str, TestRun],
             spec: PerfSpec) -> TestScore:
    """One performance test of a built chapter: both sides built, timed in turn, and compared."""
    if spec.requires is not None and not _required_part_passes(chapter, runs, spec.requires):
        return _score(spec, f"not timed: every test of part {spec.requires} must pass first")
    work = Path(work)
    programs = {}
    for side, tree in (("submission", work / "tree"), ("reference", reference_tree(chapter, work))):
        try:
            programs[side] = (tree, build_side(box, tree, work / "perf" / side / chapter.name / spec.name, chapter,
                                               spec))
        except PerfFailure as failure:
            return _score(spec, f"the {side}'s program did not build: {failure}")
        if side == "reference":  # built: from now on only the harness reads the reference's sources
            (tree / "submission").chmod(0o700)
    timer = timer_program(work)
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    # A busy machine can slow one side's runs more than the other's. A ratio that earns part of the points is
    # measured again, as many rounds more, up to RETIMES times, and the medians of all the rounds decide: the
    # student gets the benefit of the doubt, and a program that is really slower stays slower in every batch. (A
    # ratio past spec.zero is no borderline case: the same program against itself has stayed under 1.6.)
    for batch in range(1 + RETIMES):
        for round_number in range(spec.runs):
            for side in (SIDES if round_number % 2 == 0 else reversed(SIDES)):
                try:
                    times[side].append(time_once(box, programs[side][0], timer, programs[side][1], spec))
                except PerfFailure as failure:
                    return _score(spec, f"the {side}'s program {failure}")
        submission, reference = statistics.median(times["submission"]), statistics.median(times["reference"])
        ratio = submission / max(reference, 1e-6)
        if ratio <= spec.full or ratio >= spec.zero:
            break
    runs = len(times["submission"])
    return _score(spec, f"median CPU time {submission:.4f} s against the reference's {reference:.4f} s: ratio "
                        f"{ratio:.2f} (full points up to {spec.full:g}, none from {spec.zero:g}; {runs} runs "
                        "each, interleaved)",
                  score=round(points(ratio, spec), 4),
                  seconds=round(sum(times["submission"]) + sum(times["reference"]), 3), timed=True)


def run_all(box: sandbox.Sandbox, work: Path, chapters: list[Chapter], built: Mapping[str, Built],
            runs: Mapping[str, Mapping[str, TestRun]], rubrics: Mapping[str, Rubric]) -> dict[str, list[TestScore]]:
    """Performance scores per chapter name, for chapters whose rubric declares any. Without a reference solution
    in the workbook (solutions/ not shipped) there is nothing to compare with, and the tests are left out."""
    results = {}
    for chapter in chapters:
        specs = rubrics[chapter.name].perf
        if not specs or not (chapter.root / "solutions" / chapter.name).is_dir():
            continue
        chapter_built = built.get(chapter.name)
        scores = []
        for spec in specs.values():
            if chapter_built is None or chapter_built.status != "built":
                scores.append(_score(spec, "not timed: the chapter did not build"))
                continue
            try:
                scores.append(run_test(box, work, chapter, runs.get(chapter.name, {}), spec))
            except Exception as error:  # the harness's fault: this test scores 0 and says why
                scores.append(_score(spec, f"the harness could not time it: {error!r}"))
        results[chapter.name] = scores
    return results
