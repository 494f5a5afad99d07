"""The grading work tree: a pristine copy of the workbook that the sandbox builds in, the rule that whatever a
sandboxed build wrote becomes the harness's, read-only to every later run, and where the graded binary's symbols are
kept, out of the sandbox's sight."""

import os
import shutil
from pathlib import Path

PRISTINE = ["chapters", "tests", "mk", "Makefile"]  # what a build needs of the workbook; never solutions/


def copy_pristine(workbook_root: Path, tree: Path) -> None:
    """Copies the workbook's PRISTINE parts into `tree` (created), links kept as links."""
    tree.mkdir(parents=True)
    for name in PRISTINE:
        source = Path(workbook_root) / name
        if source.is_dir():
            shutil.copytree(source, tree / name, symlinks=True)
        elif source.is_file():
            shutil.copy2(source, tree / name)


def own_by_harness(path: Path) -> None:
    """Makes everything under `path` the harness's and unwritable to the sandbox's uid: the tests then run
    exactly what was built."""
    for dirpath, dirs, files in os.walk(path):
        for name in [dirpath] + [os.path.join(dirpath, entry) for entry in dirs + files]:
            status = os.lstat(name)
            if os.geteuid() == 0 and status.st_uid != 0:
                os.lchown(name, 0, 0)
            if not os.path.islink(name):
                os.chmod(name, status.st_mode & 0o755)


def symbols_file(build_dir: Path) -> Path:
    """Where the unstripped copy of a chapter's graded test binary is kept: beside its build folder, never inside
    it, since only the build folder is bound into a test's sandbox. The report reads sanitizer frames with it."""
    build_dir = Path(build_dir)
    return build_dir.parent / f"{build_dir.name}.symbols" / "test"
