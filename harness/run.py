"""Stage 3, run: the tests of every built chapter, in the sandbox, several runs in parallel.

A run is `test --quiet --test NAME[,NAME...] --xml <fifo>`: the binary the workbook's own rules built, with
Check's fork mode as in `make check` (one child per test), asked for tests by their pristine names. Check's XML log
goes to a FIFO the harness creates for that run and reads itself; nothing the test process leaves on disk is ever
read back. The verdict is made from that log, the runner's exit status and what the sandbox saw (verdict.py),
never from stdout.

Each test may run its own limit, as in `make check`: what its FT_TIMEOUT line gives it, else FT_DEFAULT_TIMEOUT_S,
times the rubric's timeout_multiplier (Check's CK_TIMEOUT_MULTIPLIER, the margin for a loaded grading machine).
The runner applies the limits it was compiled with; the harness reads the same numbers from the pristine test
sources (catalogue.py) to bound each run from outside and to size the chapter's budget. A test that hangs costs its
own limit, and the rest of its part runs on.

Tests run a part at a time, which saves a sandbox and a runner start-up per test. A part's run counts only if it
is exactly what an honest runner produces: a complete log with one entry per test asked for and no other, and an
exit status that agrees with it (0 when every entry is a success, 1 otherwise). Anything else (a runner that was
killed, hung, flooded its output, left a process running, or a log with a duplicate or a stranger in it) and each
test of the part is run again on its own, where it can only spoil its own result.

A test's output is cut from its run's output by the mark the runner writes before each test (FT_MARK_OUTPUT,
excerpts.test_section): a run keeps all the output it may print, so a test that crashed with the rest of its part
shows its own output, a sanitizer's report usually, without running again.

A test that leaves a process running after it ends (a daemon, a setsid grandchild) has not finished, whatever its
log says: the sandbox's reaper counts what a run left, and a test that left anything, run alone, fails.

Every run of a chapter, retries included, counts against the chapter's budget (sandbox.Budget) while it runs: no
run starts once it is used up, and a run still going then is stopped, so a chapter's tests take the budget at most.
"""

import math
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sandbox
from catalogue import DeclaredTest
from chaptermk import tool_env
from checklog import LogEntry, parse_log
from records import Built, TestRun
from rubric import Rubric
from workbook import HARNESS

GROUP = 16           # at most this many tests per run
TEST_MARGIN = 1.0    # seconds a run may take per test beyond the test's limit: Check's fork, the sanitizer's exit
RUN_MARGIN = 10.0    # seconds a run may take beyond its tests': the sandbox's and the runner's start
OUTPUT_LIMIT = 2 * 1024 * 1024  # bytes of output a run may print, all of them kept: every test's section is whole


def guard_library(work: Path) -> Path:
    """Compiles guard.c (see its header) into the work directory; returns its path."""
    library = Path(work) / "guard.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(HARNESS / "guard.c")], check=True,
                   capture_output=True)
    library.chmod(0o755)
    return library


def test_env(built: Built, rubric: Rubric, guard: Path) -> dict[str, str]:
    """The test binary's whole environment: `make check`'s, the rubric's timeout multiplier, the guard preloaded.
    No CK_DEFAULT_TIMEOUT: it would give every test one limit instead of its own."""
    env = {**tool_env(), **built.env}
    env.pop("CK_DEFAULT_TIMEOUT", None)
    env["CK_TIMEOUT_MULTIPLIER"] = f"{rubric.timeout_multiplier:g}"
    # ASan must not insist on being first in the library list (the guard is); and, where no memory cgroup
    # exists, its own RSS watchdog is the memory limit.
    asan_options = env.get("ASAN_OPTIONS", "").strip(":")
    env["ASAN_OPTIONS"] = ":".join(filter(None, [asan_options, "verify_asan_link_order=0",
                                                 f"hard_rss_limit_mb={rubric.memory}"]))
    env["LD_PRELOAD"] = str(guard)
    return env


def limit(test: DeclaredTest, rubric: Rubric) -> float:
    """The seconds Check gives `test`: its own limit times the rubric's timeout_multiplier."""
    return test.timeout * rubric.timeout_multiplier


def run_limits(tests: list[DeclaredTest], rubric: Rubric) -> sandbox.Limits:
    """What one run of `tests` may use: as long as its tests' limits add up to (and a margin), so that a runner
    that hangs outside any test is stopped, while a test Check stops at its own limit leaves the run going."""
    seconds = sum(limit(test, rubric) + TEST_MARGIN for test in tests) + RUN_MARGIN
    # File size: the private /tmp is a size-capped tmpfs, so the limit only has to let sparse files through
    # (a test may write a page at 4 GiB + 4096 to prove 64-bit offsets).
    return sandbox.Limits(wall=seconds, cpu=seconds, memory_mb=rubric.memory, pids=rubric.pids, fsize_mb=8192,
                          keep_output=OUTPUT_LIMIT, max_output=OUTPUT_LIMIT)


def chapter_budget(tests: list[DeclaredTest], rubric: Rubric) -> float:
    """The chapter's budget: the rubric's, else the time its parts' runs may take if every test hangs to its limit
    (whole seconds)."""
    if rubric.budget is not None:
        return rubric.budget
    return float(math.ceil(sum(run_limits(group, rubric).wall for group in groups_of(tests))))


class ChapterRun:
    """The tests of one chapter while they run: their results, and the chapter's budget, which every run of its
    tests counts against. Shared by the threads running the chapter's parts."""

    def __init__(self, built: Built, rubric: Rubric, env: dict[str, str]):
        self.built, self.rubric, self.env = built, rubric, env
        self.results: dict[str, TestRun] = {}
        self.seconds = chapter_budget(built.chapter.catalogue().by_part(), rubric)
        self.budget = sandbox.Budget(self.seconds)

    def budget_note(self, what: str) -> str:
        """Why a test has no result of its own, the budget being used up: `what` happened to it."""
        return f"{what}: the chapter's {self.seconds:g} s budget for all its tests was used up"


def invoke(box: sandbox.Sandbox, tree: Path, chapter_run: ChapterRun,
           tests: list[DeclaredTest]) -> tuple[sandbox.Outcome, sandbox.Limits]:
    """One sandboxed run of the test binary for `tests`, and the limits it had."""
    limits = run_limits(tests, chapter_run.rubric)
    built = chapter_run.built
    argv = [str(built.test_bin), "--quiet", "--test", ",".join(test.name for test in tests), "--xml", "@LOG@"]
    outcome = box.run(argv, cwd=tree, env=chapter_run.env, limits=limits,
                      read_only=[tree, built.build_dir, chapter_run.env["LD_PRELOAD"]], log_pipe=True,
                      budget=chapter_run.budget)
    return outcome, limits


def _processes(count: int) -> str:
    return f"{count} process" + ("es" if count != 1 else "")


def run_alone(box: sandbox.Sandbox, tree: Path, chapter_run: ChapterRun, test: DeclaredTest) -> TestRun:
    """Runs one test on its own, where its log, its output and its exit status are its alone."""
    if chapter_run.budget.left() <= 0:
        return TestRun(name=test.name, not_run=chapter_run.budget_note("not run"))
    outcome, limits = invoke(box, tree, chapter_run, [test])
    unfinished = ""
    if outcome.stopped:
        unfinished = chapter_run.budget_note("stopped while it ran")
    elif outcome.stragglers:
        unfinished = (f"left {_processes(outcome.stragglers)} running after the test ended (killed by the harness): "
                      "a test has finished only when every process it started has ended")
    return TestRun(name=test.name, outcome=outcome, limits=limits, limit=limit(test, chapter_run.rubric),
                   not_run=unfinished)


def honest_entries(outcome: sandbox.Outcome, names: list[str]) -> dict[str, LogEntry] | None:
    """The log's entries by name when the run is exactly what an honest runner gives, else None."""
    if (outcome.timed_out or outcome.stopped or outcome.output_overflow or outcome.log_overflow or outcome.stragglers
            or outcome.code not in (0, 1)):
        return None
    entries = parse_log(outcome.log.decode("utf-8", "replace"))
    if not entries or sorted(entry.name for entry in entries) != sorted(names):
        return None
    all_passed = all(entry.result == "success" for entry in entries)
    if all_passed != (outcome.code == 0):
        return None
    return {entry.name: entry for entry in entries}


def run_group(box: sandbox.Sandbox, tree: Path, chapter_run: ChapterRun,
              tests: list[DeclaredTest]) -> dict[str, TestRun]:
    """How each test of a group of one part was run (see the module's comment)."""
    if chapter_run.budget.left() <= 0:
        return {test.name: TestRun(name=test.name, not_run=chapter_run.budget_note("not run")) for test in tests}
    entries, outcome, limits = None, None, None
    if len(tests) > 1:
        outcome, limits = invoke(box, tree, chapter_run, tests)
        entries = honest_entries(outcome, [test.name for test in tests])
    results = {}
    for test in tests:
        entry = entries.get(test.name) if entries else None
        if entry is not None:
            results[test.name] = TestRun(name=test.name, outcome=outcome, limits=limits, entry=entry,
                                         limit=limit(test, chapter_run.rubric))
        else:
            results[test.name] = run_alone(box, tree, chapter_run, test)
    return results


def groups_of(tests: list[DeclaredTest]) -> list[list[DeclaredTest]]:
    """Tests in runs of at most GROUP, never mixing parts."""
    groups, current = [], []
    for test in tests:
        if current and (current[-1].part != test.part or len(current) == GROUP):
            groups.append(current)
            current = []
        current.append(test)
    return groups + ([current] if current else [])


def run_all(box: sandbox.Sandbox, tree: Path, work: Path, builds: list[Built], rubrics: dict[str, Rubric],
            jobs: int) -> dict[str, dict[str, TestRun]]:
    """Runs the tests of every chapter whose build succeeded: {chapter name: {test name: its run}}."""
    runnable = [built for built in builds if built.status == "built"]
    if not runnable:
        return {}
    guard = guard_library(work)
    runs = {built.chapter.name: ChapterRun(built, rubrics[built.chapter.name],
                                           test_env(built, rubrics[built.chapter.name], guard))
            for built in runnable}
    work_items = [(runs[built.chapter.name], group)
                  for built in runnable for group in groups_of(built.chapter.catalogue().by_part())]
    work_items.sort(key=lambda item: -len(item[1]))  # big groups first: the pool ends together
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(chapter_run, group, pool.submit(run_group, box, tree, chapter_run, group))
                   for chapter_run, group in work_items]
        for chapter_run, group, future in futures:
            try:
                chapter_run.results.update(future.result())
            except Exception as error:  # a harness fault costs these tests, not the grade
                for test in group:
                    chapter_run.results[test.name] = TestRun(name=test.name,
                                                             not_run=f"the harness failed to run it: {error!r}")
    return {name: chapter_run.results for name, chapter_run in runs.items()}
