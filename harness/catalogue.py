"""The test catalogue: every FT_PART, FT_TEST, FT_TEST_SIGNAL and FT_TIMEOUT declared in a chapter's pristine test
sources, read with a small C tokenizer (comments and preprocessor lines skipped, string literals joined). Names,
parts, points, hints and time limits come from here, never from a compiled binary, so nothing a student writes
changes what is graded, what it is worth or how long it may run. The names the chapter's headers declare are read
here too, with the same tokenizer."""

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path


class CatalogueError(Exception):
    """A test source declares a test or a part the harness cannot read (the pristine workbook is malformed)."""


@dataclass(frozen=True)
class DeclaredTest:
    """One test as its FT_TEST or FT_TEST_SIGNAL line declares it."""

    part: int       # the part it belongs to (declared by an FT_PART)
    name: str       # its name: Check's test id and what `--test` selects
    points: int     # what it is worth before any rubric weight
    signal: bool    # FT_TEST_SIGNAL: it passes by dying of a signal, so it never runs to its end
    hint: str       # the concept to revisit when it fails
    file: str       # the test source that declares it (a file name in tests/NN-name/)
    line: int       # the line of the declaration
    timeout: int    # seconds it may run before it is stopped as hung, before Check's CK_TIMEOUT_MULTIPLIER: what
                    # its FT_TIMEOUT line gives it, else FT_DEFAULT_TIMEOUT_S (tests/lib/ferrite_test.h)


@dataclass(frozen=True)
class Catalogue:
    """A chapter's parts and tests, as its test sources declare them."""

    parts: Mapping[int, str]            # part number -> title
    tests: tuple[DeclaredTest, ...]     # in source order (files by name, then by line)

    def by_part(self) -> list[DeclaredTest]:
        """The tests ordered by part, in source order within a part."""
        return sorted(self.tests, key=lambda test: test.part)


_TOKEN = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\d\w*)
  | (?P<punct>[(),])
  | (?P<space>\s+)
  | (?P<other>.)""", re.S | re.X)

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "?": "?", "a": "\a", "r": "\r", "0": "\0"}

Token = tuple[str, str, int]  # kind, text, line


def _tokens(text: str) -> Iterator[Token]:
    # Preprocessor lines (with their continuations) are not code the macros expand to: drop them first.
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind not in ("comment", "space"):
            yield kind, match.group(), text.count("\n", 0, match.start()) + 1


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", lambda escape: _ESCAPES.get(escape.group(1), escape.group(1)), literal[1:-1])


def _macro_args(tokens: list[Token], open_paren: int) -> list[list[tuple[str, str]]]:
    """Arguments of the macro call whose '(' is tokens[open_paren], each a list of (kind, text) tokens."""
    arguments, current, depth = [], [], 0
    for kind, text, _ in tokens[open_paren:]:
        if text == "(":
            depth += 1
            if depth == 1:
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                arguments.append(current)
                return arguments
        elif text == "," and depth == 1:
            arguments.append(current)
            current = []
            continue
        current.append((kind, text))
    raise CatalogueError("unbalanced parentheses")


def _int_arg(argument, what: str, where: str) -> int:
    if len(argument) != 1 or argument[0][0] != "number" or not argument[0][1].isdigit():
        raise CatalogueError(f"{where}: {what} must be an integer literal for the harness to read it")
    return int(argument[0][1])


def _string_arg(argument, what: str, where: str) -> str:
    if not argument or any(kind != "string" for kind, _ in argument):
        raise CatalogueError(f"{where}: {what} must be string literals")
    return "".join(_unquote(text) for _, text in argument)


def _declared_test(macro: str, arguments, where: str, line: int, source: Path, timeout: int) -> DeclaredTest:
    signal = macro == "FT_TEST_SIGNAL"
    if len(arguments) != (5 if signal else 4):
        raise CatalogueError(f"{where}: {macro} has {len(arguments)} arguments")
    name_tokens = arguments[1]
    if len(name_tokens) != 1 or name_tokens[0][0] != "ident":
        raise CatalogueError(f"{where}: the test name must be an identifier")
    return DeclaredTest(part=_int_arg(arguments[0], "the part", where), name=name_tokens[0][1],
                        points=_int_arg(arguments[2], "the points", where), signal=signal,
                        hint=_string_arg(arguments[-1], "the hint", where), file=source.name, line=line,
                        timeout=timeout)


def declared_names(headers: Iterable[Path]) -> frozenset[str]:
    """The names the headers declare at file scope, for the object inspection (build.py): every identifier followed,
    outside braces and parentheses, by `(` (a function), `;`, `[`, `=` or `,` (a variable, or a type's tag, which
    no object defines). Parameter names and struct fields, inside parentheses or braces, are not declarations."""
    names: set[str] = set()
    for header in headers:
        tokens = list(_tokens(Path(header).read_text()))
        braces = parens = 0
        for index, (kind, text, _) in enumerate(tokens[:-1]):
            braces += (text == "{") - (text == "}")
            parens += (text == "(") - (text == ")")
            following = tokens[index + 1][1]
            if kind == "ident" and braces == 0 and parens == 0 and following in ("(", ";", "[", "=", ","):
                names.add(text)
    return frozenset(names)


_DEFAULT_TIMEOUT = re.compile(r"^[ \t]*#[ \t]*define[ \t]+FT_DEFAULT_TIMEOUT_S[ \t]+(\d+)[ \t]*$", re.M)


def default_timeout(test_dir: Path) -> int:
    """FT_DEFAULT_TIMEOUT_S, as the shared header beside the chapters' test folders defines it
    (tests/lib/ferrite_test.h): the seconds a test without an FT_TIMEOUT line may run."""
    header = Path(test_dir).parent / "lib" / "ferrite_test.h"
    found = _DEFAULT_TIMEOUT.findall(header.read_text()) if header.is_file() else []
    if len(found) != 1 or int(found[0]) <= 0:
        raise CatalogueError(f"{header}: no single `#define FT_DEFAULT_TIMEOUT_S <seconds>` the harness can read")
    return int(found[0])


@functools.cache
def read_catalogue(test_dir: Path) -> Catalogue:
    """Parts and tests declared in `test_dir`/*.c (tests/NN-name/), with points, hints and time limits."""
    default = default_timeout(test_dir)
    parts: dict[int, str] = {}
    tests: list[DeclaredTest] = []
    names: set[str] = set()
    timeouts: dict[str, int] = {}
    for source in sorted(Path(test_dir).glob("*.c")):
        tokens = list(_tokens(source.read_text()))
        in_file: set[str] = set()
        for index, (kind, text, line) in enumerate(tokens):
            if kind != "ident" or text not in ("FT_PART", "FT_TEST", "FT_TEST_SIGNAL", "FT_TIMEOUT"):
                continue
            if index + 1 >= len(tokens) or tokens[index + 1][1] != "(":
                continue
            where = f"{source.name}:{line}"
            arguments = _macro_args(tokens, index + 1)
            if text == "FT_PART":
                if len(arguments) != 2:
                    raise CatalogueError(f"{where}: FT_PART takes (number, title)")
                parts[_int_arg(arguments[0], "the part number", where)] = _string_arg(arguments[1], "the title", where)
                continue
            if text == "FT_TIMEOUT":
                # The macro names the test's record, which only a test declared above it in the same file has.
                if len(arguments) != 2 or len(arguments[0]) != 1 or arguments[0][0][1] not in in_file:
                    raise CatalogueError(f"{where}: FT_TIMEOUT takes (name, seconds) of a test declared above it "
                                         "in the same file")
                name, seconds = arguments[0][0][1], _int_arg(arguments[1], "the seconds", where)
                if name in timeouts or seconds <= 0:
                    raise CatalogueError(f"{where}: FT_TIMEOUT gives {name} {seconds} s"
                                         + (", a second time" if name in timeouts else ": must be positive"))
                timeouts[name] = seconds
                continue
            test = _declared_test(text, arguments, where, line, source, default)
            if test.name in names:
                raise CatalogueError(f"{where}: test {test.name} is declared twice")
            names.add(test.name)
            in_file.add(test.name)
            tests.append(test)
    for test in tests:
        if test.part not in parts:
            raise CatalogueError(f"{test.file}:{test.line}: test {test.name} names part {test.part}, never declared")
    tests = [replace(test, timeout=timeouts.get(test.name, test.timeout)) for test in tests]
    return Catalogue(parts=parts, tests=tuple(tests))
