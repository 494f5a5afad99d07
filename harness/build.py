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

import sandbox

CC = "gcc"
SECTIONS_BEFORE_MAIN = re.compile(r"^\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.|$)")
RUNTIME_NAMES = {"main", "_start", "_init", "_fini", "ft_register_test", "ft_register_part"}


class Built:
    def __init__(self, chapter):
        self.chapter = chapter
        self.status = "missing"      # built | build-failed | refused | missing | error
        self.message = ""
        self.test_bin = None
        self.build_dir = None
        self.env = {}                # what `make check` gives the test binary: ASAN_OPTIONS, TEST_ENV, ...
        self.seconds = 0.0


def _tool_env():
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
            "NO_COLOR": "1"}


def make_vars(tree, chapter, build, names, variant="asan"):
    """Values of mk/chapter.mk's variables for this chapter, asked of make itself. Called before anything is
    compiled into `build`, so make reads pristine files only (no dependency file a compiler wrote for a student)."""
    goals = [f"ferrite-print-{n}" for n in names]
    args = ["make", "-s", "--no-print-directory", "-f", "mk/chapter.mk", f"CH={chapter.name}", "IMPL=submission",
            f"VARIANT={variant}", f"CC={CC}", f"BUILD={build}", "--eval", "ferrite-print-%: ; @echo '$($*)'",
            *goals]
    r = subprocess.run(args, cwd=tree, capture_output=True, text=True, env=_tool_env(), timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"mk/chapter.mk rejected chapter {chapter.name}: {r.stderr.strip()[-600:]}")
    lines = r.stdout.splitlines()
    return dict(zip(names, (ln.strip() for ln in lines)))


def student_paths(text):
    """Paths as the student knows them: the harness builds submission/NN-name/x.c, which is chapters/NN-name/x.c
    in the student's own copy of the workbook."""
    text = re.sub(r"/\S*?/tree/", "", text)
    return re.sub(r"(?<![\w/.-])submission/(?=\d\d-)", "chapters/", text)


def compiler_message(output, limit=60):
    """The compiler's complaints, without make's progress lines and its own summary."""
    keep = [student_paths(ln) for ln in output.splitlines() if not re.match(r"^(  (CC|LINK) |make(\[\d+\])?: )", ln)]
    if len(keep) > limit:
        keep = keep[:limit] + [f"... ({len(keep) - limit} more lines)"]
    return "\n".join(keep).strip()


# ---- which names a chapter's code may not define or call -------------------------------------------------------------

def _lib_path(name):
    out = subprocess.run([CC, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return out if os.path.isabs(out) and os.path.exists(out) else None


def _nm_defined(path, dynamic):
    args = ["nm", "-D" if dynamic else "-g", "--defined-only", path]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return {ln.split()[-1].split("@")[0] for ln in out.splitlines() if len(ln.split()) >= 3}


@functools.lru_cache(maxsize=None)
def reserved_names():
    """(library, check): names the C library and the maths library export; names Check and subunit export."""
    library = set()
    for so in ("libc.so.6", "libm.so.6"):
        path = _lib_path(so)
        if path:
            library |= _nm_defined(path, True)
    libs = subprocess.run(["pkg-config", "--libs", "check"], capture_output=True, text=True).stdout.split()
    check = set()
    for flag in libs:
        if flag.startswith("-l") and flag[2:] not in ("m", "rt", "pthread", "c"):
            path = _lib_path(f"lib{flag[2:]}.a") or _lib_path(f"lib{flag[2:]}.so")
            if path:
                check |= _nm_defined(path, path.endswith(".so"))
    return frozenset(library), frozenset(check)


def _symbols(obj):
    """(defined globals with their nm type letter, undefined names) of one object file."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True).stdout
    defined, undefined = {}, set()
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper() or kind in ("i", "u", "v", "w"):
            defined[name] = kind
    return defined, undefined


def _sections(obj):
    out = subprocess.run(["readelf", "-SW", obj], capture_output=True, text=True).stdout
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", out, flags=re.M)


def inspect_objects(objects):
    """Reasons to refuse a chapter's objects (compiled without sanitizers, which add constructors of their own)."""
    library, check = reserved_names()
    reasons = []
    for obj in objects:
        src = Path(obj).with_suffix(".c").name
        for sec in _sections(obj):
            if SECTIONS_BEFORE_MAIN.match(sec):
                reasons.append(f"{src}: a constructor or destructor (section {sec}) would run outside any test")
        defined, undefined = _symbols(obj)
        for name, kind in sorted(defined.items()):
            if kind == "i":
                reasons.append(f"{src}: `{name}` is an ifunc, whose resolver runs before main")
            elif name in library or name in check or name in RUNTIME_NAMES:
                reasons.append(f"{src}: defines `{name}`, which the C library, Check or the test runner already "
                               "defines; the runner would call yours (make it static or rename it)")
        for name in sorted(undefined & (check | RUNTIME_NAMES)):
            reasons.append(f"{src}: calls `{name}` of the test framework, which a chapter's code never needs")
    return reasons


# ---- building ------------------------------------------------------------------------------------------------------

def _own_by_harness(path):
    """After a build, nothing in it stays writable by the sandbox's uid: the tests run what was built, unaltered."""
    for dirpath, dirs, files in os.walk(path):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in dirs + files]:
            st = os.lstat(name)
            if os.geteuid() == 0 and st.st_uid != 0:
                os.lchown(name, 0, 0)
            if not os.path.islink(name):
                os.chmod(name, st.st_mode & 0o755)


def build_chapter(box, tree, work, chapter, rubric, jobs):
    """Builds one chapter in the sandbox; returns a Built."""
    b = Built(chapter)
    build = Path(work) / "build" / chapter.name
    build.mkdir(parents=True)
    os.chmod(build, 0o777)  # the sandbox's uid writes here; nothing else can reach it (README: Sandbox)
    b.build_dir = build
    info = make_vars(tree, chapter, build, ["TEST_BIN", "TEST_ENV", "ASAN_ENV", "IMPL_OBJS"])
    linked = {Path(o).name for o in info["IMPL_OBJS"].split()}  # what the test binary links; a chapter may
    # build other programs from its sources (a freestanding one with its own _start), which run apart from it
    b.test_bin = Path(info["TEST_BIN"])
    for word in (info["ASAN_ENV"] + " " + info["TEST_ENV"]).split():
        key, sep, value = word.partition("=")
        if sep:
            b.env[key] = value
    limits = sandbox.Limits(wall=rubric["build_timeout"], memory_mb=2048, pids=128, fsize_mb=256)
    common = ["make", "--no-print-directory", "-f", "mk/chapter.mk", f"-j{jobs}", f"CH={chapter.name}",
              "IMPL=submission"]
    out = box.run(common + ["build", "VARIANT=asan", f"CC={CC}", f"BUILD={build}"], cwd=tree, env=_tool_env(),
                  limits=limits, ro=[tree], rw=[build])
    b.seconds = out.seconds
    if out.code != 0 or not b.test_bin.is_file():
        b.status = "build-failed"
        why = "the build took longer than {:.0f} s".format(limits.wall) if out.timed_out else \
              "the build printed too much" if out.output_overflow else \
              "the compiler ran out of memory" if out.oom else ""
        b.message = "\n".join(filter(None, [why, compiler_message(out.text)])) or f"make exited with {out.code}"
        _own_by_harness(build)
        return b
    check = build / "check"
    # The same sources, seen by the preprocessor exactly as in the ASan build, without the sanitizers' own
    # constructors; warnings are the ASan build's business, so they do not stop this one.
    out = box.run(common + ["objects", "VARIANT=plain", f"CC={CC} -D__SANITIZE_ADDRESS__", f"BUILD={check}",
                            "CFLAGS_COMMON=-std=c17 -w", "CFLAGS_plain=-O1 -fno-omit-frame-pointer"],
                  cwd=tree, env=_tool_env(), limits=limits, ro=[tree], rw=[build])
    b.seconds += out.seconds
    _own_by_harness(build)
    objects = sorted(o for o in (check / "submission" / f"plain-{CC}" / chapter.name / "impl").glob("*.o")
                     if o.name in linked)
    if out.code != 0 or len(objects) != len(linked):
        b.status, b.message = "error", "the inspection build failed: " + compiler_message(out.text)
        return b
    reasons = inspect_objects([str(o) for o in objects])
    if reasons:
        b.status = "refused"
        b.message = "refused: " + "; ".join(reasons)
        return b
    b.status = "built"
    return b
