"""Builds the selftest's submissions: the reference solutions, the skeletons, and the hostile cases described by
hostile/<name>/case.conf. Nothing binary is kept in the repository: archives are made here, at test time.

A hostile case is a small chapter-01 submission (`chapter = NN-name` for another chapter), made from a base (the
reference solution or the skeleton) and:
  wrap = FILE FUNCTION   FUNCTION is renamed ferrite_hostile_real_FUNCTION, a static function, in FILE, and wrap.c
                         (which defines FUNCTION, usually calling the real one) is appended; every other function
                         of wrap.c or append.c must be static, as the inspection refuses any global name the
                         chapter's headers do not declare;
  append = FILE          append.c is appended to FILE;
  <source>.c             replaces the base's file;
  copy = CASE            the files of another case;
  given = FILE           FILE is handed in under the name of every file chapter.conf lists as `given` (the case
                         is skipped, with a note, while the chapter lists none);
  form = tar.gz | zip    handed in as an archive; evil = yes adds entries the unpacker must refuse;
  refused = N            (tar.gz) N more entries with absolute 4000-character names, each refused.
In every file @WORKBOOK@, @PORT@ and @MARKER@ are replaced by the workbook's path, the selftest listener's port
and a marker string made for this run (it appears nowhere in the repository); @VAR_TMP_SOCKET@, @RUN_SOCKET@ and
@ABSTRACT_SOCKET@ by the addresses of the Unix sockets the selftest listens on (the last without its leading NUL).

How it is graded, and what must come out (selftest/run checks each key given):
  options = ...          extra harness/grade options (--no-inspect switches the object inspection off)
  rubrics = selftest     grade with selftest/rubrics/ (no timeout margin, a performance test)
  rubrics = case         grade with the case's own rubric, hostile/<name>/<NN-name>.conf
  needs = namespaces     skipped, with a note, where bubblewrap cannot run
  expect.percent         0, 100, or partial (strictly between)
  expect.score           points, exactly;  expect.perf: the performance test's points
  expect.status          the chapter's status: graded, build-failed, refused
  expect.message         a regular expression the chapter's message or some failing test's message matches
  expect.failing         a regular expression every failing test's message matches (performance tests aside)
  expect.notes           regular expressions separated by "; ", each matched by some note of the report
  expect.run_seconds     at most this many seconds of grading besides the chapter's build
  expect.output          a regular expression the output of some failing test matches, in every report format
  expect.timeouts        the tests (names separated by spaces; `*`: any, at least one) that, and no other, fail for
                         not returning in time, each saying so with its own limit: its FT_TIMEOUT in the test
                         sources, else FT_DEFAULT_TIMEOUT_S, times the rubric's timeout_multiplier
  expect.stopped         a regular expression whose group 1, in the output of each of those tests, is how many
                         seconds the test's own code had waited: its last match lies between half the test's limit
                         and that limit plus a second (Check stopped it at its own limit)
  expect.size            at most this many bytes in each report format"""

import io
import shutil
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from workbook import Workbook  # noqa: E402

CHAPTER = "01-ownership-buffers"


def read_case(name: str) -> dict[str, str]:
    """hostile/<name>/case.conf as keys and values, with the case's name under "name"."""
    conf = {"name": name}
    for line in (HERE / "hostile" / name / "case.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            conf[key.strip()] = value.strip()
    return conf


def all_cases() -> list[str]:
    """The names of the hostile cases, in order."""
    return sorted(case.name for case in (HERE / "hostile").iterdir() if (case / "case.conf").is_file())


def copy_sources(workbook: Path, origin: str, chapters: list[str], dest: Path) -> list[str]:
    """chapters/<ch>/<sources> from `origin` (solutions or chapters) into dest; the chapters that were complete."""
    done = []
    pristine = Workbook(workbook)
    for name in chapters:
        files = [workbook / origin / name / source for source in pristine.chapter(name).sources]
        if not all(file.is_file() for file in files):
            continue
        (dest / "chapters" / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copyfile(file, dest / "chapters" / name / file.name)
        done.append(name)
    return done


def _wrap(text: str, function: str, extra: str) -> str:
    lines = text.splitlines()
    last = max(number for number, line in enumerate(lines) if line.lstrip().startswith("#include"))
    # Declared static first, with the type the chapter's header gives FUNCTION, the renamed definition is static too.
    lines.insert(last + 1, f"static __typeof__({function}) ferrite_hostile_real_{function} __attribute__((unused));\n"
                           f"#define {function} ferrite_hostile_real_{function}")
    return "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n" + "\n".join(lines) + \
        f"\n\n#undef {function}\n" + extra


def _substitute(text: str, ctx: dict) -> str:
    for key, value in ctx.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def make_case(workbook: Path, case: dict[str, str], dest: Path, ctx: dict) -> Path:
    """Writes the case's submission under dest; returns the path to hand to the grader."""
    case_dir = HERE / "hostile" / case.get("copy", case["name"])
    files_conf = read_case(case["copy"]) if "copy" in case else case
    base = "solutions" if files_conf.get("base") == "solution" else "chapters"
    tree = dest / "submission"
    name = case.get("chapter", CHAPTER)
    copy_sources(workbook, base, [name], tree)
    chapter_dir = tree / "chapters" / name
    chapter = Workbook(workbook).chapter(name)
    for replacement in case_dir.iterdir():
        if replacement.name in chapter.sources:
            (chapter_dir / replacement.name).write_text(replacement.read_text())
    if "wrap" in files_conf:
        target, function = files_conf["wrap"].split()
        wrapped = _wrap((chapter_dir / target).read_text(), function, (case_dir / "wrap.c").read_text())
        (chapter_dir / target).write_text(wrapped)
    if "append" in files_conf:
        target = files_conf["append"]
        text = "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n" + (chapter_dir / target).read_text()
        (chapter_dir / target).write_text(text + "\n" + (case_dir / "append.c").read_text())
    if "given" in files_conf:
        for given in chapter.given:
            (chapter_dir / given).write_text((case_dir / files_conf["given"]).read_text())
    for file in chapter_dir.iterdir():
        file.write_text(_substitute(file.read_text(), ctx))
    form = case.get("form", "dir")
    if form == "dir":
        return tree
    archive = dest / f"submission.{form}"
    if form == "tar.gz":
        make_tar(tree, archive, case.get("evil") == "yes", ctx["NONCE"], int(case.get("refused", "0")))
    else:
        make_zip(tree, archive, case.get("evil") == "yes", ctx["NONCE"])
    return archive


def _tar_add(archive: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE,
             link: str = "", size: int | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    info.size = len(data) if size is None else size
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_tar(tree: Path, archive: Path, evil: bool, nonce: str, refused: int = 0) -> None:
    """tree as a .tar.gz under submission/; evil adds the entries the unpacker must refuse, and `refused` more
    entries with absolute 4000-character names."""
    with tarfile.open(archive, "w:gz", compresslevel=6) as tarred:
        for number in range(refused):
            _tar_add(tarred, f"/tmp/ferrite-refused-{nonce}-{number:05d}-" + "x" * 4000, b"refused\n")
        tarred.add(tree, arcname="submission")
        if evil:
            _tar_add(tarred, f"../../escape-{nonce}", b"climbed out\n")
            _tar_add(tarred, f"/tmp/ferrite-abs-{nonce}", b"absolute\n")
            _tar_add(tarred, f"submission/link-{nonce}", kind=tarfile.SYMTYPE, link="/etc/passwd")
            _tar_add(tarred, f"submission/hard-{nonce}", kind=tarfile.LNKTYPE,
                     link=f"submission/chapters/{CHAPTER}/vec.c")
            _tar_add(tarred, f"submission/dev-{nonce}", kind=tarfile.CHRTYPE)
            _tar_add(tarred, f"submission/fifo-{nonce}", kind=tarfile.FIFOTYPE)
            _tar_add(tarred, f"submission/big-{nonce}.c", bytes(2 << 20))


def make_zip(tree: Path, archive: Path, evil: bool, nonce: str) -> None:
    """tree as a .zip under submission/; evil adds the entries the unpacker must refuse."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted(tree.rglob("*")):
            if file.is_file():
                zipped.write(file, "submission/" + str(file.relative_to(tree)))
        if evil:
            zipped.writestr(f"../../escape-{nonce}", "climbed out\n")
            zipped.writestr(f"/tmp/ferrite-abs-{nonce}", "absolute\n")
            link = zipfile.ZipInfo(f"submission/link-{nonce}")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(link, "/etc/passwd")
