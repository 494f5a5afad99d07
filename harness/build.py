"""Stage 2, build: compile each chapter of a submission, separately, with ASan+UBSan, inside the sandbox, through
the workbook's own mk/chapter.mk (the same rules as `make check`). Then inspect the student's objects that the test
binary links — exactly those, as they were compiled — for code that would run outside a test (constructors,
destructors, ifuncs), for global names the chapter's headers do not declare (the runner, the C library or the
sanitizers would call some of them: `isatty`, `__gmon_start__`, `__asan_default_options`), and for calls into Check.
Such a chapter is refused: it scores 0, with the reason.

The graded test binary is stripped, and Check is placed at a random distance from the student's code, so that
nothing in the binary names Check's functions or says where they are (harness/README.md, "Threat model").

A compile error in any of the student's sources scores that chapter 0 with the compiler's message; the other
chapters are graded all the same. A program the chapter builds on the side (a freestanding or cross-compiled one, a
kernel image) that does not build fails the tests that run it, and the report shows the compiler's errors."""

import functools
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import chaptermk
import sandbox
from catalogue import declared_names
from chaptermk import CC
from excerpts import OUTPUT_MARK, clip_list, compiler_message, unique_diagnostics
from objcache import ObjectCache
from records import Built
from rubric import Rubric
from workbook import Chapter
from worktree import own_by_harness, symbols_file

SECTIONS_BEFORE_MAIN = re.compile(r"^\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.|$)")
RUNNING_SECTION_TYPES = {"INIT_ARRAY", "FINI_ARRAY", "PREINIT_ARRAY"}
RUNTIME_NAMES = {"main", "_start", "_init", "_fini", "ft_register_test", "ft_register_part", "ft_register_timeout"}
# GCC's AddressSanitizer gives every object it compiles one constructor (it calls __asan_init and registers the
# object's globals) and, when the object has globals, one destructor (it unregisters them), each alone in its
# section at priority 99. Nothing else may run before or after main.
SANITIZER_CTORS = {
    ".init_array.00099": ("_sub_I_00099_", re.compile(r"__asan_(init|register_globals|version_mismatch_check_v\d+)")),
    ".fini_array.00099": ("_sub_D_00099_", re.compile(r"__asan_unregister_globals")),
}
SANITIZER_CTOR_CODE = ("sub", "add", "mov", "lea", "call", "jmp", "ret", "push", "pop", "endbr64", "nop", "xor")
DATA_SECTIONS = (".data", ".bss", ".rodata")
ODR_MARKER = "__odr_asan."  # ASan defines __odr_asan.NAME beside each global variable NAME
MAX_REASONS = 12            # reasons to refuse a chapter, listed in its report
PAD_STEPS = 4096            # each pad around Check is 16 to 16 * PAD_STEPS bytes long


# ---- which names a chapter's code may not define or call -------------------------------------------------------------

def _lib_path(name: str) -> str | None:
    path = subprocess.run([CC, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _nm_defined(path: str, dynamic: bool) -> set[str]:
    listing = subprocess.run(["nm", "-D" if dynamic else "-g", "--defined-only", path], capture_output=True,
                             text=True).stdout
    return {line.split()[-1].split("@")[0] for line in listing.splitlines() if len(line.split()) >= 3}


@functools.cache
def check_libs() -> str:
    """How the test binary links Check, as pkg-config says (on Debian: static archives only)."""
    return subprocess.run(["pkg-config", "--libs", "check"], capture_output=True, text=True).stdout.strip()


@functools.cache
def reserved_names() -> tuple[frozenset[str], frozenset[str]]:
    """(library, check): names the C library and the maths library export; names Check and subunit export."""
    library = set()
    for shared_object in ("libc.so.6", "libm.so.6"):
        path = _lib_path(shared_object)
        if path:
            library |= _nm_defined(path, True)
    check = set()
    for flag in check_libs().split():
        if flag.startswith("-l") and flag[2:] not in ("m", "rt", "pthread", "c"):
            path = _lib_path(f"lib{flag[2:]}.a") or _lib_path(f"lib{flag[2:]}.so")
            if path:
                check |= _nm_defined(path, path.endswith(".so"))
    return frozenset(library), frozenset(check)


# ---- what an object holds, as readelf and objdump say ------------------------------------------------------------------

@dataclass(frozen=True)
class _Symbol:
    name: str
    value: int
    size: int
    kind: str       # FUNC, OBJECT, IFUNC, SECTION, NOTYPE, ...
    bind: str       # LOCAL, GLOBAL, WEAK, UNIQUE
    section: str    # the index of its section, or UND, ABS, COM


def _tool(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout


def _sections(obj: str) -> dict[str, tuple[int, str, int]]:
    """{name: (index, type, size)} of an object's sections."""
    found = {}
    for match in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)",
                             _tool("readelf", "-SW", obj), flags=re.M):
        if match.group(1) != "0":
            found[match.group(2)] = (int(match.group(1)), match.group(3), int(match.group(4), 16))
    return found


def _symbols(obj: str) -> list[_Symbol]:
    symbols = []
    for match in re.finditer(r"^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)[ \t]*(\S*)",
                             _tool("readelf", "-sW", obj), flags=re.M):
        symbols.append(_Symbol(name=match.group(6), value=int(match.group(1), 16), size=int(match.group(2), 0),
                               kind=match.group(3), bind=match.group(4), section=match.group(5)))
    return symbols


def _relocations(obj: str) -> dict[str, list[tuple[int, str, int]]]:
    """{relocation section: [(offset, symbol or section name, addend)]}."""
    found: dict[str, list[tuple[int, str, int]]] = {}
    current = None
    for line in _tool("readelf", "-rW", obj).splitlines():
        header = re.match(r"Relocation section '([^']+)'", line)
        if header:
            current = found.setdefault(header.group(1), [])
            continue
        fields = line.split()
        if current is None or len(fields) < 5 or not re.fullmatch(r"[0-9a-f]+", fields[0]):
            continue
        addend = int(fields[6], 16) * (-1 if fields[5] == "-" else 1) if len(fields) >= 7 else 0
        current.append((int(fields[0], 16), fields[4], addend))
    return found


# ---- the inspection -----------------------------------------------------------------------------------------------

def _sanitizer_ctor_problem(obj: str, section: str, sections: dict, symbols: list[_Symbol]) -> str:
    """Why the one entry of `section` is not the sanitizer's own constructor (or destructor); empty when it is."""
    prefix, calls = SANITIZER_CTORS[section]
    entries = _relocations(obj).get(f".rela{section}", [])
    if sections[section][2] != 8 or len(entries) != 1:
        return "more than the sanitizer's own"
    _, target, addend = entries[0]
    if target in sections:      # a section symbol plus an offset, as GCC writes it
        index = str(sections[target][0])
        function = next((symbol for symbol in symbols if symbol.kind == "FUNC" and symbol.section == index
                         and symbol.value == addend), None)
    else:
        function = next((symbol for symbol in symbols if symbol.kind == "FUNC" and symbol.name == target), None)
    if function is None or function.bind != "LOCAL" or not function.name.startswith(prefix):
        return f"`{function.name if function else target}` is not the sanitizer's"
    code_section = next(name for name, (index, _, _) in sections.items() if str(index) == function.section)
    listing = _tool("objdump", "-d", "-r", "--no-show-raw-insn", "-j", code_section,
                    f"--start-address={function.value:#x}", f"--stop-address={function.value + function.size:#x}", obj)
    pending = False     # a call or jump whose target is still to be seen in a relocation
    last = ""           # the last instruction: the code must end there (a ret, or a jump to the sanitizer)
    for line in listing.splitlines():
        relocation = re.match(r"^\s+[0-9a-f]+: R_\S+\s+([^\s+-]+)", line)
        instruction = re.match(r"^\s+[0-9a-f]+:\t(\S+)", line)
        if relocation:
            name = relocation.group(1)
            if not (calls.fullmatch(name) or (not pending and name.startswith(DATA_SECTIONS))):
                return f"`{function.name}` refers to `{name}`"
            pending = False
        elif instruction:
            if pending:
                return f"`{function.name}` calls code of its own"
            last = instruction.group(1)
            if not last.startswith(SANITIZER_CTOR_CODE):
                return f"`{function.name}` holds `{last}`"
            pending = last.startswith(("call", "jmp"))
    if pending:
        return f"`{function.name}` calls code of its own"
    if not last.startswith(("ret", "jmp")):
        return f"`{function.name}` runs on past its end"
    return ""


def _constructor_reasons(obj: str, source: str, sections: dict, symbols: list[_Symbol]) -> list[str]:
    reasons = []
    for name, (_, kind, _) in sorted(sections.items()):
        if not (SECTIONS_BEFORE_MAIN.match(name) or kind in RUNNING_SECTION_TYPES):
            continue
        if name not in SANITIZER_CTORS:
            reasons.append(f"{source}: a constructor or destructor (section {name}) would run outside any test")
        elif problem := _sanitizer_ctor_problem(obj, name, sections, symbols):
            reasons.append(f"{source}: a constructor or destructor (section {name}, {problem}) would run outside "
                           "any test")
    reasons += [f"{source}: `{symbol.name}` is an ifunc, whose resolver runs before main"
                for symbol in symbols if symbol.kind == "IFUNC"]
    return reasons


def _symbol_reasons(source: str, symbols: list[_Symbol], declared: frozenset[str]) -> list[str]:
    library, check = reserved_names()
    defined = {symbol.name for symbol in symbols if symbol.section != "UND" and symbol.bind != "LOCAL"}
    reasons = []
    for symbol in sorted(symbols, key=lambda symbol: symbol.name):
        if not symbol.name or symbol.kind in ("SECTION", "FILE"):
            continue
        if symbol.name.startswith(ODR_MARKER) and symbol.name[len(ODR_MARKER):] in defined:
            continue    # the sanitizer's companion of a global variable, which is judged on its own
        if symbol.section == "UND":
            if symbol.name in check or symbol.name in RUNTIME_NAMES:
                reasons.append(f"{source}: calls `{symbol.name}` of the test framework, which a chapter's code never "
                               "needs")
            continue
        if symbol.bind == "LOCAL":
            continue
        if symbol.name in library or symbol.name in check or symbol.name in RUNTIME_NAMES:
            reasons.append(f"{source}: defines `{symbol.name}`, which the C library, Check or the test runner "
                           "already defines; the runner would call yours (make it static or rename it)")
        elif symbol.name.startswith("_"):
            reasons.append(f"{source}: defines `{symbol.name}`: a name that begins with an underscore belongs to the "
                           "C implementation and its tools, which call such names before main (make it static or "
                           "rename it)")
        elif symbol.name not in declared:
            reasons.append(f"{source}: defines `{symbol.name}`, which no header of the chapter declares: a chapter's "
                           "code makes global only what its headers declare (make it static)")
    return reasons


def inspect_objects(objects: list[str], declared: frozenset[str]) -> list[str]:
    """Reasons to refuse the student's objects the test binary links, given the names the chapter's headers
    declare."""
    reasons = []
    for obj in objects:
        source = Path(obj).with_suffix(".c").name
        symbols = _symbols(obj)
        reasons += _constructor_reasons(obj, source, _sections(obj), symbols) + _symbol_reasons(source, symbols, declared)
    return reasons


def chapter_headers(tree: Path, chapter: Chapter) -> list[Path]:
    """The headers whose declarations a chapter's code may define: the pristine ones of the chapter and of
    chapters/include, and the student's own headers when chapter.conf lists some among its sources."""
    pristine = sorted((tree / "chapters" / chapter.name).glob("*.h")) + sorted((tree / "chapters/include").glob("*.h"))
    own = [tree / "submission" / chapter.name / source for source in chapter.sources if source.endswith(".h")]
    return pristine + [header for header in own if header.is_file() and not header.is_symlink()]


# ---- the graded binary ---------------------------------------------------------------------------------------------

def _write_pads(folder: Path) -> tuple[Path, Path]:
    """Two assembly files of int3 bytes, each of a random length, linked one before Check and one after it: the
    distance from the student's code to Check's is then a secret of this build, and the binary's size (the sum of
    both) does not tell it. A jump to a guessed address lands, most of the time, on a trap."""
    folder.mkdir()
    pads = (folder / "before.s", folder / "after.s")
    for pad in pads:
        pad.write_text(f"\t.text\n\t.fill {16 * (1 + secrets.randbelow(PAD_STEPS))}, 1, 0xcc\n"
                       '\t.section .note.GNU-stack,"",@progbits\n')  # no executable stack
    return pads


def _strip(test_bin: Path, build_dir: Path) -> None:
    """Keeps the graded binary's symbols beside the build folder, for the report, and strips the binary the tests
    run: no symbol table, no debug information, and Check's functions in no dynamic table either."""
    kept = symbols_file(build_dir)
    kept.parent.mkdir(parents=True)
    shutil.copy2(test_bin, kept)
    subprocess.run(["objcopy", "--strip-all", str(test_bin)], check=True, capture_output=True, timeout=120)
    os.chmod(test_bin, 0o755)
    exported = _nm_defined(str(test_bin), True) & reserved_names()[1]
    shared_check = re.findall(r"\[(libcheck[^]]*)\]", _tool("readelf", "-d", str(test_bin)))
    if ".symtab" in _sections(str(test_bin)) or exported or shared_check:
        raise RuntimeError("the test binary names Check's functions, in its own tables or a shared libcheck "
                           f"({', '.join(sorted(exported)[:5] + shared_check)}): Debian's check package links "
                           "statically; see harness/README.md, Threat model")


def _side_builds(make_output: str, logs: list[Path], build_dir: Path) -> str:
    """What a build that succeeded said besides its progress: the compiler's errors for a program the chapter's
    fragment builds on the side and lets fail (mk/chapter.mk, BUILD_LOGS), with the logs it writes them to."""
    logged = []
    for log in logs:
        if log.is_relative_to(build_dir) and log.is_file() and not log.is_symlink():
            with open(log, "rb") as file:
                logged.append(compiler_message(file.read(256 * 1024).decode("utf-8", "replace")))
    seen = {line.strip() for text in logged for line in text.splitlines()}
    inline = "\n".join(line for line in compiler_message(make_output).splitlines() if line.strip() not in seen)
    said = "\n".join(filter(None, [inline.strip(), *logged]))
    if not said:
        return ""
    return "not every program of the chapter built; the tests that run them fail:\n" + unique_diagnostics(said)


# ---- building ------------------------------------------------------------------------------------------------------

def _build_failure(outcome: sandbox.Outcome, limits: sandbox.Limits) -> str:
    why = ("the build took longer than {:.0f} s".format(limits.wall) if outcome.timed_out else
           "the build printed too much" if outcome.output_overflow else
           "the compiler ran out of memory" if outcome.oom else "")
    return "\n".join(filter(None, [why, compiler_message(outcome.text)])) or f"make exited with {outcome.code}"


def _test_env(make_words: str) -> dict[str, str]:
    """The VAR=value words of make's ASAN_ENV and TEST_ENV, as an environment; the sanitizers' frames left raw
    (the binary is stripped: the report reads them with its symbols), and a mark before each test's output."""
    env = {}
    for word in make_words.split():
        name, sep, value = word.partition("=")
        if sep:
            env[name] = value
    for options in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[options] = ":".join(filter(None, [env.get(options, "").strip(":"), "symbolize=0"]))
    env[OUTPUT_MARK] = "ferrite-test-" + secrets.token_hex(8)
    return env


def build_chapter(box: sandbox.Sandbox, tree: Path, work: Path, chapter: Chapter, rubric: Rubric,
                  jobs: int) -> Built:
    """Builds one chapter of the submission in the sandbox, strips the test binary and inspects the student's
    objects it links."""
    build_dir = Path(work) / "build" / chapter.name
    build_dir.mkdir(parents=True)
    os.chmod(build_dir, 0o777)  # the sandbox's uid writes here; nothing else can reach it (README: Sandbox)
    variant = ["VARIANT=asan", f"CC={CC}"]
    settings = [*variant, f"BUILD={build_dir}"]
    info = chaptermk.print_vars(tree, chapter.name, ["B", "TEST_BIN", "TEST_ENV", "ASAN_ENV", "LINKED_OBJS",
                                                     "BUILD_LOGS"], "submission", *settings)
    test_bin = Path(info["TEST_BIN"])
    linked = [Path(obj) for obj in info["LINKED_OBJS"].split() if Path(obj).parent == test_bin.parent / "impl"]
    env = _test_env(info["ASAN_ENV"] + " " + info["TEST_ENV"])
    limits = sandbox.Limits(wall=rubric.build_timeout, memory_mb=2048, pids=128, fsize_mb=256)
    # The tests, the test library and the given code, compiled once per state folder (objcache.py says why that is
    # safe); the build below compiles the student's files and links.
    ObjectCache(box.state).seed(box, tree, chapter.name, variant, jobs, build_dir, Path(info["B"]))
    pads = _write_pads(build_dir / "pads")

    def built(status: str, message: str = "") -> Built:
        return Built(chapter=chapter, status=status, message=message, test_bin=test_bin, build_dir=build_dir,
                     env=env, seconds=outcome.seconds)

    # `objects` as well: every source must compile, nolibc.c of chapter 02 too, which the test binary does not link.
    outcome = box.run(chaptermk.make_command(chapter.name, "submission", f"-j{jobs}", "build", "objects", *settings,
                                             f"CHECK_LIBS={pads[0]} {check_libs()} {pads[1]}"),
                      cwd=tree, env=chaptermk.tool_env(), limits=limits, read_only=[tree], writable=[build_dir])
    own_by_harness(build_dir)
    shutil.rmtree(pads[0].parent)   # the pads' sizes stay secret: a test reads the build folder
    if outcome.code != 0 or not test_bin.is_file():
        return built("build-failed", _build_failure(outcome, limits))
    _strip(test_bin, build_dir)
    missing = [obj.name for obj in linked if not obj.is_file()]
    if missing:
        return built("error", f"the build made no {', '.join(missing)}")
    reasons = inspect_objects([str(obj) for obj in linked], declared_names(chapter_headers(tree, chapter)))
    if reasons:
        return built("refused", "refused: " + "; ".join(clip_list(reasons, MAX_REASONS, 600, "reasons")))
    return built("built", _side_builds(outcome.text, [Path(log) for log in info["BUILD_LOGS"].split()], build_dir))
