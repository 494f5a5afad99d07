"""Stage 2, build: compile each chapter of a submission, separately, with ASan+UBSan, inside the sandbox, through
the workbook's own mk/chapter.mk (the same rules as `make check`). Then check the student's objects for code that
would run outside a test: constructors, destructors, ifuncs, and functions that replace the C library's or Check's
(the runner would call them), or calls into Check itself. Such a chapter is refused: it scores 0, with the reason.

A compile error scores that chapter 0 with the compiler's message; the other chapters are graded all the same."""

import functools
import os
import re
import subprocess
from pathlib import Path

import chaptermk
import sandbox
from chaptermk import CC
from excerpts import compiler_message
from records import Built
from rubric import Rubric
from workbook import Chapter
from worktree import own_by_harness

SECTIONS_BEFORE_MAIN = re.compile(r"^\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.|$)")
RUNTIME_NAMES = {"main", "_start", "_init", "_fini", "ft_register_test", "ft_register_part"}


# ---- which names a chapter's code may not define or call -------------------------------------------------------------

def _lib_path(name: str) -> str | None:
    path = subprocess.run([CC, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _nm_defined(path: str, dynamic: bool) -> set[str]:
    listing = subprocess.run(["nm", "-D" if dynamic else "-g", "--defined-only", path], capture_output=True,
                             text=True).stdout
    return {line.split()[-1].split("@")[0] for line in listing.splitlines() if len(line.split()) >= 3}


@functools.cache
def reserved_names() -> tuple[frozenset[str], frozenset[str]]:
    """(library, check): names the C library and the maths library export; names Check and subunit export."""
    library = set()
    for shared_object in ("libc.so.6", "libm.so.6"):
        path = _lib_path(shared_object)
        if path:
            library |= _nm_defined(path, True)
    flags = subprocess.run(["pkg-config", "--libs", "check"], capture_output=True, text=True).stdout.split()
    check = set()
    for flag in flags:
        if flag.startswith("-l") and flag[2:] not in ("m", "rt", "pthread", "c"):
            path = _lib_path(f"lib{flag[2:]}.a") or _lib_path(f"lib{flag[2:]}.so")
            if path:
                check |= _nm_defined(path, path.endswith(".so"))
    return frozenset(library), frozenset(check)


def _symbols(obj: str) -> tuple[dict[str, str], set[str]]:
    """(defined globals with their nm type letter, undefined names) of one object file."""
    listing = subprocess.run(["nm", "-P", obj], capture_output=True, text=True).stdout
    defined, undefined = {}, set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper() or kind in ("i", "u", "v", "w"):
            defined[name] = kind
    return defined, undefined


def _sections(obj: str) -> list[str]:
    listing = subprocess.run(["readelf", "-SW", obj], capture_output=True, text=True).stdout
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", listing, flags=re.M)


def inspect_objects(objects: list[str]) -> list[str]:
    """Reasons to refuse a chapter's objects (compiled without sanitizers, which add constructors of their own)."""
    library, check = reserved_names()
    reasons = []
    for obj in objects:
        source = Path(obj).with_suffix(".c").name
        for section in _sections(obj):
            if SECTIONS_BEFORE_MAIN.match(section):
                reasons.append(f"{source}: a constructor or destructor (section {section}) would run outside any "
                               "test")
        defined, undefined = _symbols(obj)
        for name, kind in sorted(defined.items()):
            if kind == "i":
                reasons.append(f"{source}: `{name}` is an ifunc, whose resolver runs before main")
            elif name in library or name in check or name in RUNTIME_NAMES:
                reasons.append(f"{source}: defines `{name}`, which the C library, Check or the test runner already "
                               "defines; the runner would call yours (make it static or rename it)")
        for name in sorted(undefined & (check | RUNTIME_NAMES)):
            reasons.append(f"{source}: calls `{name}` of the test framework, which a chapter's code never needs")
    return reasons


# ---- building ------------------------------------------------------------------------------------------------------

def _build_failure(outcome: sandbox.Outcome, limits: sandbox.Limits) -> str:
    why = ("the build took longer than {:.0f} s".format(limits.wall) if outcome.timed_out else
           "the build printed too much" if outcome.output_overflow else
           "the compiler ran out of memory" if outcome.oom else "")
    return "\n".join(filter(None, [why, compiler_message(outcome.text)])) or f"make exited with {outcome.code}"


def _test_env(make_words: str) -> dict[str, str]:
    """The VAR=value words of make's ASAN_ENV and TEST_ENV, as an environment."""
    env = {}
    for word in make_words.split():
        name, sep, value = word.partition("=")
        if sep:
            env[name] = value
    return env


def build_chapter(box: sandbox.Sandbox, tree: Path, work: Path, chapter: Chapter, rubric: Rubric,
                  jobs: int) -> Built:
    """Builds one chapter of the submission in the sandbox, then inspects the student's objects."""
    build_dir = Path(work) / "build" / chapter.name
    build_dir.mkdir(parents=True)
    os.chmod(build_dir, 0o777)  # the sandbox's uid writes here; nothing else can reach it (README: Sandbox)
    info = chaptermk.print_vars(tree, chapter.name, ["TEST_BIN", "TEST_ENV", "ASAN_ENV", "IMPL_OBJS"], "submission",
                                "VARIANT=asan", f"CC={CC}", f"BUILD={build_dir}")
    linked = {Path(obj).name for obj in info["IMPL_OBJS"].split()}  # what the test binary links; a chapter may
    # build other programs from its sources (a freestanding one with its own _start), which run apart from it
    test_bin = Path(info["TEST_BIN"])
    env = _test_env(info["ASAN_ENV"] + " " + info["TEST_ENV"])
    limits = sandbox.Limits(wall=rubric.build_timeout, memory_mb=2048, pids=128, fsize_mb=256)

    def make(*arguments: str) -> sandbox.Outcome:
        return box.run(chaptermk.make_command(chapter.name, "submission", f"-j{jobs}", *arguments), cwd=tree,
                       env=chaptermk.tool_env(), limits=limits, read_only=[tree], writable=[build_dir])

    def built(status: str, seconds: float, message: str = "") -> Built:
        return Built(chapter=chapter, status=status, message=message, test_bin=test_bin, build_dir=build_dir,
                     env=env, seconds=seconds)

    outcome = make("build", "VARIANT=asan", f"CC={CC}", f"BUILD={build_dir}")
    seconds = outcome.seconds
    if outcome.code != 0 or not test_bin.is_file():
        own_by_harness(build_dir)
        return built("build-failed", seconds, _build_failure(outcome, limits))
    inspection_dir = build_dir / "check"
    # The same sources, seen by the preprocessor exactly as in the ASan build, without the sanitizers' own
    # constructors; warnings are the ASan build's business, so they do not stop this one.
    outcome = make("objects", "VARIANT=plain", f"CC={CC} -D__SANITIZE_ADDRESS__", f"BUILD={inspection_dir}",
                   "CFLAGS_COMMON=-std=c17 -w", "CFLAGS_plain=-O1 -fno-omit-frame-pointer")
    seconds += outcome.seconds
    own_by_harness(build_dir)
    objects = sorted(obj for obj in (inspection_dir / "submission" / f"plain-{CC}" / chapter.name / "impl").glob("*.o")
                     if obj.name in linked)
    if outcome.code != 0 or len(objects) != len(linked):
        return built("error", seconds, "the inspection build failed: " + compiler_message(outcome.text))
    reasons = inspect_objects([str(obj) for obj in objects])
    if reasons:
        return built("refused", seconds, "refused: " + "; ".join(reasons))
    return built("built", seconds)
