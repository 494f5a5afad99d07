"""Stage 4, score: each test's verdict (verdict.py) turned into points with the rubric's weights, and a chapter's
grade made of them. Test names, parts, points and hints come from the pristine test sources (catalogue.py); a
test without a result scores 0. A failed test carries the evidence of its failure: its own part of the run's output,
sanitizer reports made readable."""

from collections.abc import Mapping, Sequence
from dataclasses import replace

from catalogue import DeclaredTest
from excerpts import MAX_MESSAGE, OUTPUT_MARK, clip, output_excerpt, student_paths, symbolize, test_section
from grades import ChapterGrade, PartScore, TestScore
from records import Built, TestRun
from rubric import Rubric
from verdict import judge
from workbook import Chapter
from worktree import symbols_file

PERF_TITLE = "performance against the reference solution"


def _part_scales(tests: Sequence[DeclaredTest], rubric: Rubric) -> dict[int, float]:
    """Multiplier per part: the rubric's part.N points spread over the part's tests in proportion to their
    points."""
    part_points: dict[int, int] = {}
    for test in tests:
        part_points[test.part] = part_points.get(test.part, 0) + test.points
    return {part: (rubric.parts[part] / points if part in rubric.parts and points else 1.0)
            for part, points in part_points.items()}


def evidence(run: TestRun, built: Built) -> str:
    """What a failed test printed, it and the processes it started (a forked server's sanitizer report), cut out
    of its run's output by the marks the runner writes between tests, even when it ran with the rest of its part;
    its sanitizer frames read with the graded binary's symbols, which the sandbox never saw."""
    if run.outcome is None:
        return ""
    text = test_section(run.outcome.text, built.env.get(OUTPUT_MARK), run.name, alone=run.entry is None)
    if built.test_bin is not None and built.build_dir is not None and symbols_file(built.build_dir).is_file():
        text = symbolize(text, str(built.test_bin), str(symbols_file(built.build_dir)))
    return output_excerpt(text)


def _test_score(test: DeclaredTest, run: TestRun | None, built: Built | None, not_graded_why: str,
                scale: float) -> TestScore:
    graded = built is not None and built.status == "built"
    verdict = judge(test, run) if graded else None
    passed = verdict is not None and verdict.passed
    max_score = test.points * scale
    return TestScore(part=test.part, name=test.name, points=test.points, max_score=max_score,
                     score=max_score if passed else 0.0, status="pass" if passed else "fail",
                     message=clip(student_paths(verdict.message) if verdict else not_graded_why, MAX_MESSAGE),
                     hint=test.hint,
                     seconds=run.seconds if run else None,
                     output=evidence(run, built) if run and built and not passed else "")


def _to_chapter_total(scores: list[TestScore], chapter_points: float | None) -> list[TestScore]:
    """The scores scaled to the rubric's `chapter` points in all, when it gives them; rounded for the report."""
    total_max = sum(score.max_score for score in scores)
    factor = chapter_points / total_max if chapter_points is not None and total_max else 1.0
    return [replace(score, max_score=round(score.max_score * factor, 4), score=round(score.score * factor, 4))
            for score in scores]


def _part_rows(scores: list[TestScore], titles: Mapping[int, str]) -> tuple[PartScore, ...]:
    rows = []
    for part in sorted({score.part for score in scores}, key=lambda number: (number == 0, number)):  # perf last
        in_part = [score for score in scores if score.part == part]
        rows.append(PartScore(part=part, title=titles.get(part, "?"), tests=len(in_part),
                              passed=sum(score.status == "pass" for score in in_part),
                              score=round(sum(score.score for score in in_part), 4),
                              max_score=round(sum(score.max_score for score in in_part), 4)))
    return tuple(rows)


def score_chapter(chapter: Chapter, files: Mapping[str, str], built: Built | None, runs: Mapping[str, TestRun],
                  rubric: Rubric, perf: Sequence[TestScore] = ()) -> ChapterGrade:
    """A chapter's grade from its build, its tests' runs and its performance tests (part 0)."""
    catalogue = chapter.catalogue()
    tests = catalogue.by_part()
    scales = _part_scales(tests, rubric)
    graded = built is not None and built.status == "built"
    status = "graded" if graded else (built.status if built else "missing")
    scores = [_test_score(test, runs.get(test.name) if graded else None, built, f"not run: {status}",
                          scales[test.part]) for test in tests]
    scores = _to_chapter_total(scores + list(perf), rubric.chapter)
    titles = {**catalogue.parts, **({0: PERF_TITLE} if perf else {})}
    # A graded chapter has a message too when a program it builds on the side did not build (the compiler's errors).
    message = built.message if built is not None else ""
    if status == "missing":
        message = "no files for this chapter in the submission"
    return ChapterGrade(chapter=chapter.name, title=chapter.title, status=status, message=message, files=dict(files),
                        build_seconds=round(built.seconds, 2) if built else 0.0, parts=_part_rows(scores, titles),
                        tests=tuple(scores), score=round(sum(score.score for score in scores), 4),
                        max_score=round(sum(score.max_score for score in scores), 4))


def total(chapters: Sequence[ChapterGrade]) -> tuple[float, float]:
    """(score, max_score) of a whole submission."""
    return (round(sum(chapter.score for chapter in chapters), 4),
            round(sum(chapter.max_score for chapter in chapters), 4))
