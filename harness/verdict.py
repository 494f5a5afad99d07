"""Whether a test passed, from what its run left: Check's log as the harness's own FIFO carried it, the runner's
exit status, and what the sandbox saw. Never from what the program printed. A test passes only when
  - the log holds exactly one result, for exactly this test, and it is a success;
  - the test body ran to its end (Check records a duration only then: a test whose process calls exit(0) part way
    is a success to Check, with duration -1, and a failure here), unless the test must die by a signal;
  - the runner exited with status 0, within the time limit, without flooding its output.
A test that Check stopped at its own time limit fails with that limit, in seconds, in its message."""

from dataclasses import dataclass

from catalogue import DeclaredTest
from checklog import TIMEOUT_MESSAGE, explain, meaning, parse_log
from records import TestRun


@dataclass(frozen=True)
class Verdict:
    """A test's verdict."""

    passed: bool
    message: str    # why it failed; empty when it passed


def _limits_note(run: TestRun) -> str:
    notes = []
    if run.outcome.oom:
        notes.append(f"the memory limit of {run.limits.memory_mb} MiB was reached")
    if run.outcome.pids_hit:
        notes.append("the limit on processes was reached")
    return f" ({'; '.join(notes)})" if notes else ""


def judge(test: DeclaredTest, run: TestRun | None) -> Verdict:
    """The verdict on one catalogue test, given how it was run (None: it never was)."""
    if run is None:
        return Verdict(False, "no result: the test was never run")
    if run.not_run:
        return Verdict(False, run.not_run)
    outcome = run.outcome
    if outcome.timed_out:
        return Verdict(False, f"did not return within {run.limit:g} s, its time limit: the test binary was still "
                              f"running after {run.limits.wall:g} s and was stopped{_limits_note(run)}")
    if outcome.output_overflow:
        return Verdict(False, f"printed more than {run.limits.max_output // 1024} KiB, the limit; stopped")
    entries = [run.entry] if run.entry is not None else parse_log(run.own_log)
    if outcome.log_overflow or entries is None:
        return Verdict(False, "the test log is not Check's: something other than the runner wrote to it")
    if not entries:
        why = f"exit status {run.code}" if run.code < 128 else f"killed by signal {run.code - 128}"
        return Verdict(False, f"no result: the test binary stopped before the test ran ({why}){_limits_note(run)}")
    if len(entries) != 1 or entries[0].name != test.name:
        return Verdict(False, f"the test log holds {len(entries)} result(s), not one for {test.name}: something "
                              "other than the runner wrote to it")
    entry = entries[0]
    if entry.result != "success" and entry.message.startswith(TIMEOUT_MESSAGE):
        return Verdict(False, f"did not return within {run.limit:g} s, its time limit ({meaning(entry.message)})"
                              + _limits_note(run))
    if entry.result != "success":
        return Verdict(False, explain(entry.message) + _limits_note(run))
    if not test.signal and entry.duration < 0:
        return Verdict(False, "the test process exited before the test finished (exit() or _exit() inside the code "
                              "under test): Check counts that as success, the harness does not")
    if run.code != 0:
        return Verdict(False, f"the log says passed but the runner exited with status {run.code}")
    return Verdict(True, "")
