"""The instructor's rubric: weights, limits and performance tests for one chapter, from an optional plain file
`<rubrics>/<NN-name>.conf` of `key = value` lines (harness/README.md, "Rubrics", lists every key)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class RubricError(Exception):
    """A rubric file the harness cannot read."""


@dataclass(frozen=True)
class PerfSpec:
    """A performance test: a program timed on the submission and on the reference solution (perf.py)."""

    name: str                       # perf.NAME: the test is reported as perf_NAME
    points: float                   # what it is worth
    driver: Path | None             # a C file linked with the chapter's objects ...
    program: str | None             # ... or a program mk/chapter.mk builds (exactly one of the two)
    args: tuple[str, ...] = ()      # the program's arguments
    requires: int | None = None     # a part whose tests must all pass before it is timed
    full: float = 1.25              # full points up to this ratio of CPU times (submission / reference)
    zero: float = 3.0               # no points from this ratio; linear in between
    runs: int = 5                   # timed runs of each side
    timeout: float = 20.0           # seconds per run
    hint: str = "faster code earns these points"


@dataclass(frozen=True)
class Rubric:
    """How one chapter is weighted and limited; every field has the default a missing file gives."""

    parts: Mapping[int, float] = field(default_factory=dict)  # part N is worth this many points in all
    chapter: float | None = None        # the chapter is scaled to this many points in all
    timeout_multiplier: float = 2.0     # every test may run its own limit (FT_TIMEOUT, else FT_DEFAULT_TIMEOUT_S)
                                        # times this: CK_TIMEOUT_MULTIPLIER, the margin for a loaded grading machine
    budget: float | None = None         # seconds for all of the chapter's tests; None: what its tests' limits add
                                        # up to (run.py, chapter_budget)
    memory: int = 512                   # MiB per test run
    pids: int = 256                     # processes per test run
    build_timeout: float = 180.0        # seconds for the chapter's build
    perf: Mapping[str, PerfSpec] = field(default_factory=dict)  # performance tests by name


LIMITS = {"timeout_multiplier": float, "budget": float, "memory": int, "pids": int, "build_timeout": float}
PERF_FIELDS = {"points": float, "driver": str, "program": str, "args": str.split, "requires": int, "full": float,
               "zero": float, "runs": int, "timeout": float, "hint": str}


def read_conf(path: Path) -> dict[str, str]:
    """`key = value` lines of a rubric; `#` starts a comment."""
    conf = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise RubricError(f"{path}:{number}: expected `key = value`")
        conf[key.strip()] = value.strip()
    return conf


def _perf_spec(path: Path, name: str, values: dict[str, str]) -> PerfSpec:
    unknown = set(values) - set(PERF_FIELDS)
    if unknown or "points" not in values or ("driver" in values) == ("program" in values):
        raise RubricError(f"{path}: perf.{name} needs .points and one of .driver or .program"
                          + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else ""))
    try:
        fields = {key: PERF_FIELDS[key](value) for key, value in values.items()}
    except ValueError as error:
        raise RubricError(f"{path}: perf.{name}: {error}") from None
    if "args" in fields:
        fields["args"] = tuple(fields["args"])
    driver = None
    if "driver" in fields:
        driver = (path.parent / fields.pop("driver")).resolve()
        if not driver.is_file():
            raise RubricError(f"{path}: perf.{name}.driver: no file {driver}")
    return PerfSpec(name=name, driver=driver, program=fields.pop("program", None), **fields)


def read_rubric(rubric_dir: Path, chapter_name: str) -> Rubric:
    """The rubric for a chapter, from `<rubric_dir>/<chapter_name>.conf`; the defaults when there is none."""
    path = Path(rubric_dir) / f"{chapter_name}.conf"
    if not path.is_file():
        return Rubric()
    parts: dict[int, float] = {}
    settings: dict = {}
    perf_values: dict[str, dict[str, str]] = {}
    for key, value in read_conf(path).items():
        try:
            if key.startswith("part."):
                parts[int(key[5:])] = float(value)
            elif key == "chapter":
                settings["chapter"] = float(value)
            elif key in LIMITS:
                settings[key] = LIMITS[key](value)
                if key == "timeout_multiplier" and not settings[key] > 0:
                    raise ValueError("must be more than 0 (Check reads 0 as no limit at all)")
            elif key == "timeout":
                raise ValueError("each test's limit comes from the test sources (FT_TIMEOUT, else "
                                 "FT_DEFAULT_TIMEOUT_S); give every test more time with timeout_multiplier")
            elif key.startswith("perf."):
                name, _, perf_field = key[5:].rpartition(".")
                if not name:
                    raise ValueError("write perf.NAME.FIELD")
                perf_values.setdefault(name, {})[perf_field] = value
            else:
                raise ValueError("unknown key")
        except ValueError as error:
            raise RubricError(f"{path}: {key}: {error}") from None
    perf = {name: _perf_spec(path, name, values) for name, values in perf_values.items()}
    return Rubric(parts=parts, perf=perf, **settings)
