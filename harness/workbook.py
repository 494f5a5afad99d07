"""The pristine workbook, as the harness sees it: chapters, the files a student owns, tests with their points, and
the instructor's rubric. Everything here is read from the workbook's own sources, never from a submission or a
compiled binary, so nothing a student writes can change what is graded or what it is worth."""

import re
from pathlib import Path

HARNESS = Path(__file__).resolve().parent


class WorkbookError(Exception):
    """The pristine workbook itself is malformed (a chapter.conf, a test source or a rubric)."""


def read_conf(path):
    """Reads `key = value` lines (the chapter.conf and rubric format); `#` starts a comment."""
    conf = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise WorkbookError(f"{path}:{number}: expected `key = value`")
        conf[key.strip()] = value.strip()
    return conf


class Chapter:
    """One chapter of the pristine workbook: chapters/NN-name with its chapter.conf."""

    def __init__(self, root, name):
        self.root, self.name = Path(root), name
        conf = read_conf(self.root / "chapters" / name / "chapter.conf")
        self.title = conf.get("title", name)
        self.sources = conf.get("sources", "").split()
        self.threads = conf.get("threads", "no") == "yes"
        if not self.sources:
            raise WorkbookError(f"chapters/{name}/chapter.conf lists no `sources`")
        for s in self.sources:
            if "/" in s or not s.endswith(".c"):
                raise WorkbookError(f"chapters/{name}/chapter.conf: source {s!r} must be a plain .c file name")
        self._catalogue = None

    @property
    def number(self):
        return self.name[:2]

    def catalogue(self):
        """(parts, tests): parts maps number -> title; tests is a list of dicts in source order."""
        if self._catalogue is None:
            self._catalogue = read_catalogue(self.root / "tests" / self.name)
        return self._catalogue


class Workbook:
    def __init__(self, root):
        self.root = Path(root).resolve()
        if not (self.root / "mk" / "chapter.mk").is_file():
            raise WorkbookError(f"{self.root} is not a Ferrite workbook (no mk/chapter.mk)")
        names = sorted(p.parent.name for p in (self.root / "chapters").glob("[0-9][0-9]-*/chapter.conf"))
        self.chapters = [Chapter(self.root, n) for n in names]

    def select(self, wanted):
        """The chapters named by `wanted` (list of "01" or "01-name"); all of them when it is empty."""
        if not wanted:
            return list(self.chapters)
        chosen = []
        for w in wanted:
            found = [c for c in self.chapters if c.name == w or c.number == w]
            if not found:
                raise WorkbookError(f"no chapter {w!r}; the chapters are: {' '.join(c.name for c in self.chapters)}")
            chosen += [c for c in found if c not in chosen]
        return chosen


# ---- test catalogue: FT_PART / FT_TEST / FT_TEST_SIGNAL read from the test sources --------------------------------

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


def _tokens(text):
    # Preprocessor lines (with their continuations) are not code the macros expand to: drop them first.
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind not in ("comment", "space"):
            yield kind, m.group(), text.count("\n", 0, m.start()) + 1


def _unquote(literal):
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), literal[1:-1])


def _macro_args(tokens, i):
    """Arguments of the macro call whose '(' is tokens[i]: a list of token lists, and the index after ')'."""
    args, cur, depth = [], [], 0
    for j in range(i, len(tokens)):
        kind, text, _ = tokens[j]
        if text == "(":
            depth += 1
            if depth == 1:
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                args.append(cur)
                return args, j + 1
        elif text == "," and depth == 1:
            args.append(cur)
            cur = []
            continue
        cur.append((kind, text))
    raise WorkbookError("unbalanced parentheses")


def _int_arg(arg, what, where):
    if len(arg) != 1 or arg[0][0] != "number" or not arg[0][1].isdigit():
        raise WorkbookError(f"{where}: {what} must be an integer literal for the harness to read it")
    return int(arg[0][1])


def _string_arg(arg, what, where):
    if not arg or any(kind != "string" for kind, _ in arg):
        raise WorkbookError(f"{where}: {what} must be string literals")
    return "".join(_unquote(text) for _, text in arg)


def read_catalogue(test_dir):
    """Parts and tests declared in tests/NN-name/*.c, with points and hints, in the order the sources give."""
    parts, tests, names = {}, [], set()
    for src in sorted(Path(test_dir).glob("*.c")):
        toks = list(_tokens(src.read_text()))
        for i, (kind, text, line) in enumerate(toks):
            if kind != "ident" or text not in ("FT_PART", "FT_TEST", "FT_TEST_SIGNAL"):
                continue
            if i + 1 >= len(toks) or toks[i + 1][1] != "(":
                continue
            where = f"{src.name}:{line}"
            args, _ = _macro_args(toks, i + 1)
            if text == "FT_PART":
                if len(args) != 2:
                    raise WorkbookError(f"{where}: FT_PART takes (number, title)")
                parts[_int_arg(args[0], "the part number", where)] = _string_arg(args[1], "the title", where)
                continue
            signal = text == "FT_TEST_SIGNAL"
            if len(args) != (5 if signal else 4):
                raise WorkbookError(f"{where}: {text} has {len(args)} arguments")
            name = args[1][0][1] if len(args[1]) == 1 and args[1][0][0] == "ident" else None
            if not name:
                raise WorkbookError(f"{where}: the test name must be an identifier")
            if name in names:
                raise WorkbookError(f"{where}: test {name} is declared twice")
            names.add(name)
            tests.append({
                "part": _int_arg(args[0], "the part", where), "name": name,
                "points": _int_arg(args[2], "the points", where), "signal": signal,
                "hint": _string_arg(args[-1], "the hint", where), "file": src.name, "line": line,
            })
    for t in tests:
        if t["part"] not in parts:
            raise WorkbookError(f"{t['file']}:{t['line']}: test {t['name']} names part {t['part']}, never declared")
    return parts, tests


# ---- rubric: the instructor's weights and limits, one optional plain file per chapter ----------------------------

RUBRIC_DEFAULTS = {"timeout": 10.0, "budget": 240.0, "memory": 512, "pids": 256, "build_timeout": 180.0}
PERF_FIELDS = {"points", "driver", "program", "args", "requires", "full", "zero", "runs", "timeout", "hint"}


def read_rubric(rubric_dir, chapter):
    """The rubric for `chapter` from `<rubric_dir>/<NN-name>.conf`, defaults filled in. Keys:
    part.N = points (part N is worth that many points in total), chapter = points (the chapter is scaled to that
    total), timeout / budget / memory / pids / build_timeout (limits), perf.NAME.* (a performance test, perf.py)."""
    rubric = {"parts": {}, "chapter": None, "perf": {}, **RUBRIC_DEFAULTS}
    path = Path(rubric_dir) / f"{chapter.name}.conf"
    if not path.is_file():
        return rubric
    for key, value in read_conf(path).items():
        where = f"{path}: {key}"
        try:
            if key.startswith("part."):
                rubric["parts"][int(key[5:])] = float(value)
            elif key == "chapter":
                rubric["chapter"] = float(value)
            elif key in RUBRIC_DEFAULTS:
                rubric[key] = type(RUBRIC_DEFAULTS[key])(value)
            elif key.startswith("perf."):
                name, _, field = key[5:].rpartition(".")
                if not name:
                    raise ValueError("write perf.NAME.FIELD")
                rubric["perf"].setdefault(name, {"name": name})[field] = value
            else:
                raise ValueError("unknown key")
        except ValueError as e:
            raise WorkbookError(f"{where}: {e}") from None
    for name, spec in rubric["perf"].items():
        unknown = set(spec) - PERF_FIELDS - {"name"}
        if unknown or "points" not in spec or ("driver" in spec) == ("program" in spec):
            raise WorkbookError(f"{path}: perf.{name} needs .points and one of .driver or .program"
                                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else ""))
        if "driver" in spec:
            spec["driver"] = str((path.parent / spec["driver"]).resolve())
            if not Path(spec["driver"]).is_file():
                raise WorkbookError(f"{path}: perf.{name}.driver: no file {spec['driver']}")
    return rubric
