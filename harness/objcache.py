"""The pristine objects of a chapter, compiled once per grading machine: the tests, the test library and the given
code are the same in every submission, so a batch of two hundred, or the selftest's forty grades of chapter 01,
would otherwise compile them two hundred or forty times. Only the student's own files change from one build to
the next.

Trust: the objects kept here are compiled from the pristine copy of the workbook in a grade's work tree (chapters/,
tests/, mk/; a submission's files live under submission/ and are not read), by the harness's own `make` goals for
those objects alone, in the sandbox, into a folder no submission's build or test can reach. A submission's build
folder is never harvested: its tests run with that folder readable and its build wrote there. Each build receives
copies, so what a build does to them stays in that build.

Validity: a cache is named by a hash of everything the objects are made from (every file of the chapter's folders
under chapters/ and tests/, of tests/lib/, chapters/include/ and mk/, the compiler's version and the make settings):
change one byte of a test and a new cache is built; system headers change with the compiler's package version.
Copies get one fresh time stamp, newer than every file of the tree they came from, so make sees them up to date; a
build that finds one out of date all the same compiles it again, as it would have anyway.

Concurrency: graders sharing a state folder take a lock per cache; a cache is built in a folder of its own and
renamed into place when whole, so a grade never copies from a half-built one. A cache that cannot be built (a
failure is the harness's, not a submission's) only costs the time it saves: the build compiles everything."""

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import chaptermk
import sandbox
from worktree import own_by_harness

SOURCE_FOLDERS = ("tests/lib", "chapters/include", "mk")  # besides chapters/NN-name and tests/NN-name
KEEP = 32  # caches kept per state folder; the oldest go first


def _hash_tree(digest, root: Path, folder: str) -> None:
    base = root / folder
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")


@functools.cache
def _compiler_version() -> str:
    return subprocess.run([chaptermk.CC, "--version"], capture_output=True, text=True).stdout


def cache_key(tree: Path, chapter: str, settings: list[str]) -> str:
    """The name of the cache for `chapter` in `tree`, built with `settings`: a hash of what its objects are made of."""
    digest = hashlib.sha256()
    digest.update(f"{chapter}\0{_compiler_version()}\0{' '.join(settings)}\0".encode())
    for folder in (f"chapters/{chapter}", f"tests/{chapter}", *SOURCE_FOLDERS):
        _hash_tree(digest, tree, folder)
    return f"{chapter}-{digest.hexdigest()[:24]}"


class ObjectCache:
    """The pristine objects of every chapter graded with one state folder (`state`/objects/)."""

    def __init__(self, state: Path):
        self.root = Path(state) / "objects"

    def _build(self, box: sandbox.Sandbox, tree: Path, chapter: str, settings: list[str], jobs: int,
               folder: Path) -> bool:
        """Compiles the chapter's pristine objects into `folder`/B; True when they all built."""
        staging = folder / "build"
        staging.mkdir(parents=True)
        os.chmod(staging, 0o777)
        info = chaptermk.print_vars(tree, chapter, ["B", "TEST_OBJS", "GIVEN_OBJS"], "submission", *settings,
                                    f"BUILD={staging}")
        goals = info["TEST_OBJS"].split() + info["GIVEN_OBJS"].split()
        outcome = box.run(chaptermk.make_command(chapter, "submission", f"-j{jobs}", *goals, *settings,
                                                 f"BUILD={staging}"),
                          cwd=tree, env=chaptermk.tool_env(), read_only=[tree], writable=[staging],
                          limits=sandbox.Limits(wall=600, memory_mb=2048, pids=128, fsize_mb=256))
        own_by_harness(staging)
        if outcome.code != 0 or not all(Path(goal).is_file() for goal in goals):
            return False
        (folder / "B").write_text(f"{info['B']}\n{Path(info['B']).relative_to(staging)}\n")
        return True

    def _ready(self, box, tree, chapter, settings, jobs) -> Path | None:
        """The folder of a whole cache for this chapter, built first if there is none."""
        key = cache_key(tree, chapter, settings)
        folder = self.root / key
        if (folder / "B").is_file():
            return folder
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        with open(self.root / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (folder / "B").is_file():  # another grader built it while this one waited
                return folder
            staging = self.root / f"{key}.{os.getpid()}-{time.monotonic_ns()}"
            try:
                if not self._build(box, tree, chapter, settings, jobs, staging):
                    return None
                staging.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self._prune()
        return folder

    def _prune(self) -> None:
        caches = sorted((path for path in self.root.iterdir() if (path / "B").is_file()),
                        key=lambda path: path.stat().st_mtime)
        for old in caches[:-KEEP]:
            shutil.rmtree(old, ignore_errors=True)

    def seed(self, box: sandbox.Sandbox, tree: Path, chapter: str, settings: list[str], jobs: int,
             build_dir: Path, target_b: Path) -> None:
        """Copies the chapter's pristine objects (and their dependency files) to `target_b`, the B folder of a
        build about to run with `settings` in `build_dir`, and leaves every folder made on the way open to the
        build's uid, as `build_dir` is. Without a cache nothing is copied, and the build compiles everything."""
        try:
            folder = self._ready(box, tree, chapter, settings, jobs)
        except (OSError, chaptermk.MakeError, subprocess.SubprocessError):
            return
        if folder is None:
            return
        built_at, relative = (folder / "B").read_text().splitlines()[:2]
        _copy(folder / "build" / relative, built_at, Path(target_b))
        for path, _, _ in os.walk(build_dir):
            os.chmod(path, 0o777)  # a fragment makes folders beside B (chapter 05: its kernel images)


def _copy(cached: Path, built_at: str, target_b: Path) -> None:
    """Copies the objects under `cached` (a cache's B folder, named `built_at` when it was compiled) to `target_b`,
    their dependency files rewritten to name `target_b`; every copy gets the same fresh time stamp."""
    if not cached.is_dir():
        return
    stamp = time.time_ns()
    for path in sorted(cached.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.suffix not in (".o", ".d", ".h"):
            continue
        destination = target_b / path.relative_to(cached)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".d":
            destination.write_text(path.read_text().replace(built_at, str(target_b)))
        else:
            shutil.copyfile(path, destination)
        os.chmod(destination, 0o666)
        os.utime(destination, ns=(stamp, stamp))
