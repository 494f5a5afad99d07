"""Stage 3, run: the tests of every built chapter, in the sandbox, several invocations in parallel.

An invocation is `test --quiet --test NAME[,NAME...] --xml <fifo>`: the binary the workbook's own rules built,
with Check's fork mode as in `make check` (one child per test), asked for tests by their pristine names. Check's
XML log goes to a FIFO the harness creates for that invocation and reads itself; nothing the test process leaves
on disk is ever read back. The verdict is made from that log, the runner's exit status and what the sandbox saw
(score.py), never from stdout.

Tests run a part at a time, which saves a sandbox and a runner start-up per test. A part's run counts only if it
is exactly what an honest runner produces: a complete log with one entry per test asked for and no other, and an
exit status that agrees with it (0 when every entry is a success, 1 otherwise). Anything else (a runner that was
killed, hung, flooded its output, or a log with a duplicate or a stranger in it) and each test of the part is run
again on its own, where it can only spoil its own result. A test that crashed or tripped a sanitizer is also run
again alone, so that the report can show its own output.
"""

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sandbox
import score
from workbook import HARNESS

GROUP = 16               # at most this many tests per invocation
RERUN_FOR_OUTPUT = 24    # at most this many failed tests per chapter run alone to show their own output


def guard_library(work):
    """Compiles guard.c (see its header) into the work directory; returns its path."""
    out = Path(work) / "guard.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(out), str(HARNESS / "guard.c")], check=True,
                   capture_output=True)
    out.chmod(0o755)
    return out


def test_env(built, rubric, guard):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "NO_COLOR": "1", **built.env}
    env["CK_DEFAULT_TIMEOUT"] = f"{rubric['timeout']:g}"
    # ASan must not insist on being first in the library list (the guard is); and, where no memory cgroup
    # exists, its own RSS watchdog is the memory limit.
    asan = env.get("ASAN_OPTIONS", "").strip(":")
    env["ASAN_OPTIONS"] = ":".join(filter(None, [asan, "verify_asan_link_order=0",
                                                 f"hard_rss_limit_mb={rubric['memory']}"]))
    env["LD_PRELOAD"] = str(guard)
    return env


class ChapterRun:
    """The tests of one chapter, their raw results, and the time they have used of the chapter's budget."""

    def __init__(self, built, rubric, env):
        self.built, self.rubric, self.env = built, rubric, env
        self.spent, self.lock = 0.0, threading.Lock()
        self.results, self.reruns, self.over = {}, 0, False

    def charge(self, seconds):
        with self.lock:
            self.spent += seconds
            self.over = self.over or self.spent >= self.rubric["budget"]

    def may_rerun_for_output(self):
        with self.lock:
            self.reruns += 1
            return self.reruns <= RERUN_FOR_OUTPUT


def invoke(box, tree, cr, names):
    """One sandboxed run of the test binary for `names`; returns the sandbox's Outcome."""
    timeout = cr.rubric["timeout"]
    # File size: the private /tmp is a size-capped tmpfs, so the limit only has to let sparse files through
    # (a test may write a page at 4 GiB + 4096 to prove 64-bit offsets).
    limits = sandbox.Limits(wall=len(names) * (timeout + 1) + 10, cpu=len(names) * (timeout + 1) + 10,
                            memory_mb=cr.rubric["memory"], pids=cr.rubric["pids"], fsize_mb=8192)
    argv = [str(cr.built.test_bin), "--quiet", "--test", ",".join(names), "--xml", "@LOG@"]
    out = box.run(argv, cwd=tree, env=cr.env, limits=limits, ro=[tree, cr.built.build_dir, cr.env["LD_PRELOAD"]],
                  log_pipe=True)
    out.wall_limit, out.max_output = limits.wall, limits.max_output
    return out


def _raw(name, out, **extra):
    return {"name": name, "code": out.code, "seconds": round(out.seconds, 3), "timed_out": out.timed_out,
            "wall_limit": out.wall_limit, "output_overflow": out.output_overflow, "output_bytes": out.output_bytes,
            "log_overflow": out.log_overflow, "oom": out.oom, "pids_hit": out.pids_hit, "memory_mb": 0,
            "max_output": out.max_output,
            "leftovers": out.leftovers, "output": "", "log": "", **extra}


def run_alone(box, tree, cr, test):
    out = invoke(box, tree, cr, [test["name"]])
    cr.charge(out.seconds)
    return _raw(test["name"], out, output=out.text, log=out.log.decode("utf-8", "replace"),
                memory_mb=cr.rubric["memory"])


def honest_group(out, names):
    """The log's entries by name when the run is exactly what an honest runner gives, else None."""
    if out.timed_out or out.output_overflow or out.log_overflow or out.code not in (0, 1):
        return None
    entries = score.parse_log(out.log.decode("utf-8", "replace"))
    if not entries or sorted(e["id"] for e in entries) != sorted(names):
        return None
    all_passed = all(e["result"] == "success" for e in entries)
    if all_passed != (out.code == 0):
        return None
    return {e["id"]: e for e in entries}


def run_group(box, tree, cr, tests):
    """Raw results for a group of tests of one chapter (see the module's comment)."""
    results = {}
    if cr.over:
        for t in tests:
            results[t["name"]] = {"name": t["name"], "skipped": f"not run: the chapter's {cr.rubric['budget']:g} s "
                                                                "budget for all its tests was used up"}
        return results
    names = [t["name"] for t in tests]
    out = invoke(box, tree, cr, names) if len(tests) > 1 else None
    if out is not None:
        cr.charge(out.seconds)
    entries = honest_group(out, names) if out is not None else None
    for t in tests:
        e = entries.get(t["name"]) if entries else None
        if e is not None:
            r = _raw(t["name"], out, entry=e, memory_mb=cr.rubric["memory"])
            r["code"] = 0 if e["result"] == "success" else 1
            r["seconds"] = round(e["duration"], 3) if e["duration"] >= 0 else None
            crashed = e["result"] != "success" and e["message"].startswith(("Early exit", "Received signal"))
            if not (crashed and cr.may_rerun_for_output()):
                results[t["name"]] = r
                continue
        results[t["name"]] = run_alone(box, tree, cr, t)
    return results


def groups_of(tests):
    """Tests in runs of at most GROUP, never mixing parts."""
    runs, cur = [], []
    for t in tests:
        if cur and (cur[-1]["part"] != t["part"] or len(cur) == GROUP):
            runs.append(cur)
            cur = []
        cur.append(t)
    return runs + ([cur] if cur else [])


def run_all(box, tree, work, builds, rubrics, jobs):
    """Runs the tests of every chapter whose build succeeded; returns {chapter name: {test name: raw result}}."""
    runnable = [b for b in builds if b.status == "built"]
    if not runnable:
        return {}
    guard = guard_library(work)
    runs = {b.chapter.name: ChapterRun(b, rubrics[b.chapter.name], test_env(b, rubrics[b.chapter.name], guard))
            for b in runnable}
    items = []
    for b in runnable:
        _, tests = b.chapter.catalogue()
        items += [(runs[b.chapter.name], g) for g in groups_of(sorted(tests, key=lambda t: t["part"]))]
    items.sort(key=lambda item: -len(item[1]))  # big groups first: the pool ends together
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(cr, g, pool.submit(run_group, box, tree, cr, g)) for cr, g in items]
        for cr, g, f in futures:
            try:
                cr.results.update(f.result())
            except Exception as e:  # a harness fault costs these tests, not the grade
                for t in g:
                    cr.results[t["name"]] = {"name": t["name"], "error": f"the harness failed to run it: {e!r}"}
    return {name: cr.results for name, cr in runs.items()}
