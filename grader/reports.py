"""Reports that teach: one page per student (HTML, Markdown, text) and a class summary.

    gradebook -> view models (here) -> Jinja2 templates (templates/) -> OUT/reports/

Per student, OUT/reports/<student>.html (self-contained: inline CSS, no script, no
external URL), <student>.md (for LMS comments) and <student>.txt (terminal). For the
class, OUT/reports/index.html: score distribution, pass rate per check, the most
frequent known mistakes and who made them, and links to every student's page.

What a report may show is decided here, once, in the view models: a hidden check
shows its status, description and message only (the judge writes hidden messages
without any hidden value), never its hint, known mistake or traceback. Templates
get plain, already-cleaned strings; HTML is autoescaped, Markdown is escaped by the
environment's finalize hook, so no template can forget to escape. User-visible
template strings go through gettext (jinja2.ext.i18n, null translations for now).
Nothing here runs student code: `python -m grader report OUT` re-renders from the
gradebook alone.
"""
import gc
import os
import re
import statistics
import textwrap
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from grader import registry
from grader.config import PROJECT_DIR
from grader.exports import report_path, report_stem, reports_dir, write_atomically
from grader import i18n
from grader.misconceptions import CATALOGUE
from grader.plots import pass_rate_plot, score_histogram

TEMPLATES_DIR = PROJECT_DIR / "templates"
FORMATS = ("html", "md", "txt")
_ = i18n._  # strings made in Python (plot labels) and data from the registry, in the active language


def index_path(out_dir) -> Path:
    return reports_dir(out_dir) / "index.html"


def report_href(student: str, fmt="html") -> str:
    """A relative link from index.html to a student's report: quoted, so any folder name works as a URL."""
    return quote(f"{report_stem(student)}.{fmt}", safe="")


# --- cleaning and escaping -------------------------------------------------------------------

# Unicode's control characters (category Cc) but newline and tab, lone surrogates (Cs), and the bidi controls.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def clean(text) -> str:
    """Text from results made safe for every format: no control characters (bar newline and tab), no bidi overrides."""
    return _UNSAFE.sub("", str(text))


_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|~#&!{}])")
_MD_ANY_MARKUP = re.compile(r"[\\`*_\[\]<>|~#&!{}]|^\s*[-+=]|^\s*\d+[.)]")  # what the three rules below touch


def markdown_text(value) -> str:
    """Literal text inside Markdown: every character that could start markup or HTML is backslash-escaped."""
    if isinstance(value, Markup):  # already Markdown, made by a filter below
        return value
    text = str(value)
    if not _MD_ANY_MARKUP.search(text):  # most values (numbers, plain words): nothing to escape
        return text
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    text = re.sub(r"^(\s*)([-+=])", r"\1\\\2", text)  # not a list item or a heading underline
    return re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", text)  # not a numbered list


def markdown_code(value) -> Markup:
    """An inline code span that holds any text: the fence is longer than any run of backticks inside."""
    text = str(value).replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def markdown_block(value, indent=0) -> Markup:
    """Text under a list item: one escaped line, or a fenced code block (indented) when it has several lines."""
    text = str(value)
    if "\n" not in text:
        return Markup(markdown_text(text))
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " * indent
    lines = [fence, *text.splitlines(), fence]
    return Markup("\n".join(pad + line if line else line for line in lines).lstrip(" "))


def wrap(value, width=100, indent=0, hang=2) -> str:
    """Wrapped text for the terminal report. The template writes the first line's indent itself; each
    further line of a paragraph gets indent + hang spaces, and each new paragraph (a traceback line) indent."""
    lines = []
    for paragraph in str(value).splitlines() or [""]:
        pieces = textwrap.wrap(paragraph, width=max(20, width - indent - hang), break_long_words=False,
                               break_on_hyphens=False) or [""]
        lines.append(" " * indent + pieces[0])
        lines.extend(" " * (indent + hang) + piece for piece in pieces[1:])
    return "\n".join(lines)[indent:]


def environment(fmt: str) -> Environment:
    """The Jinja2 environment for one output format in the active language; all share templates/ and the i18n
    extension."""
    return _environment(fmt, i18n.language())


@lru_cache(maxsize=None)
def _environment(fmt: str, lang: str) -> Environment:  # noqa: ARG001 - the cache's key: one per language
    """One environment per format and language, so that what a template imports without context (the shared
    words of _labels.j2, translated once) is kept from page to page: importing it with every page, with the
    dozen translations in and around each check, took ~15% of a report's view and renders (measured)."""
    options = dict(loader=FileSystemLoader(str(TEMPLATES_DIR)), undefined=StrictUndefined,
                   extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    if fmt == "html":
        env = Environment(autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True,
                                                       default=True), **options)
    elif fmt == "md":
        env = Environment(autoescape=False, finalize=markdown_text, **options)
    elif fmt == "txt":
        env = Environment(autoescape=False, **options)
    else:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    env.install_gettext_callables(gettext=lambda message: i18n._(message),
                                  ngettext=lambda singular, plural, count: i18n.ngettext(singular, plural, count),
                                  newstyle=True)  # the active language: this environment's
    env.filters.update(md_code=markdown_code, md_block=markdown_block, wrap=wrap)
    return env


def load_templates():
    """Compile every page's template now (a batch does this while its workers still start, not at its end)."""
    for fmt in FORMATS:
        environment(fmt).get_template(f"student.{fmt}")
    environment("html").get_template("index.html")


def _render(template: str, fmt: str, **context) -> str:
    return environment(fmt).get_template(template).render(**context)


# --- view models -----------------------------------------------------------------------------

def points(value) -> str:
    return f"{value:g}"


def percent(part, whole) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass(frozen=True)
class CheckView:
    id: str
    status: str  # a result status, or "not_attempted"
    hidden: bool
    description: str
    message: str  # "" when passed or the same as the check above
    same_as_above: bool
    known_mistake: str  # the misconception's name; "" for hidden checks
    hint: str  # "" for hidden checks, or when the check above gave the same hint
    trace: str  # the student's own frames, for errors on public checks
    score: str
    max_score: str

    @property
    def passed(self):
        return self.status == "passed"


@dataclass(frozen=True)
class ExerciseView:
    id: str
    filename: str
    title: str
    score: str
    max_score: str
    percent: float
    checks: tuple


@dataclass(frozen=True)
class StudentView:
    student: str
    href: str
    score: str
    max_score: str
    percent: float
    passed: int
    total: int
    exercises: tuple
    known_mistakes: tuple  # names of the known mistakes seen on public checks, in course order
    problem: str  # why the submission could not be read at all, else ""
    graded_at: str


def check_view(check, previous=None) -> CheckView:
    """What a report shows of one check. Hidden checks: status, description and message only."""
    hidden = check.visibility != "public"
    status = "not_attempted" if check.not_attempted else check.status
    message = clean(check.message) if status != "passed" else ""
    same = bool(message) and previous is not None and message == previous.message_source
    known = _(CATALOGUE[check.misconception].name) if check.misconception in CATALOGUE and not hidden else ""
    hint = clean(check.hint) if not hidden and status != "passed" else ""
    if hint and previous is not None and hint == previous.hint_source:
        hint = ""
    trace = clean(getattr(check, "trace", "")) if not hidden and status != "passed" else ""
    return CheckView(clean(check.check_id), status, hidden, clean(_(check.description)), "" if same else message, same,
                     known, hint, trace, points(check.score), points(check.max_score))


class _Previous:
    """What the check above said, so that a repeated message or hint is said once."""

    def __init__(self):
        self.message_source = self.hint_source = None

    def update(self, check):
        if check.status == "passed" and not check.not_attempted:
            return
        self.message_source = clean(check.message)
        if check.visibility == "public" and check.hint:
            self.hint_source = clean(check.hint)


def _exercise_meta(exercise_id):
    try:
        exercise = registry.exercise(exercise_id)
        return exercise.filename, _(exercise.title)
    except KeyError:
        return f"{exercise_id}.py", exercise_id


def student_view(result, row=None) -> StudentView:
    exercises = []
    known = []
    for exercise in result.exercises:
        previous, checks = _Previous(), []
        for check in exercise.checks:
            checks.append(check_view(check, previous))
            previous.update(check)
            view = checks[-1]
            if view.known_mistake and view.known_mistake not in known:
                known.append(view.known_mistake)
        filename, title = _exercise_meta(exercise.exercise)
        exercises.append(ExerciseView(exercise.exercise, filename, title, points(exercise.score),
                                      points(exercise.max_score), percent(exercise.score, exercise.max_score),
                                      tuple(checks)))
    return _student_line(result, row, tuple(exercises), tuple(known))


def _student_line(result, row=None, exercises=(), known=()) -> StudentView:
    """A StudentView's totals; without `exercises` it is what a line of the class table shows."""
    all_checks = result.checks
    graded_at = getattr(row, "graded_at", None)
    return StudentView(
        clean(result.student), report_href(result.student), points(result.score), points(result.max_score),
        percent(result.score, result.max_score), sum(check.status == "passed" for check in all_checks),
        len(all_checks), exercises, known, clean(getattr(row, "problem", "") or ""),
        graded_at.strftime("%Y-%m-%d %H:%M UTC") if graded_at is not None else "")


def class_view(results, rows=None) -> dict:
    """Everything the class summary shows, computed once from the results."""
    results = sorted(results, key=lambda result: result.student)
    rows = rows or {}
    students = [_student_line(result, rows.get(result.student)) for result in results]  # the table shows totals
    scores = [result.score for result in results]
    max_score = max((result.max_score for result in results), default=100.0) or 100.0
    exercise_ids = [exercise.id for exercise in registry.EXERCISES]
    by_check = {}  # check id -> every student's result of it, in one pass over the class
    for result in results:
        for check in result.checks:
            by_check.setdefault(check.check_id, []).append(check)

    checks = []
    for exercise in registry.EXERCISES:
        for check in exercise.checks:
            outcomes = by_check.get(check.id, [])
            passed = sum(c.status == "passed" for c in outcomes)
            statuses = {}
            for c in outcomes:
                if c.status != "passed":
                    key = "not_attempted" if c.not_attempted else c.status
                    statuses[key] = statuses.get(key, 0) + 1
            checks.append(dict(id=check.id, exercise=exercise.id, visibility=check.visibility,
                               description=_(check.description), points=points(check.points), passed=passed,
                               total=len(outcomes), rate=percent(passed, len(outcomes)),
                               failures=sorted(statuses.items(), key=lambda item: (-item[1], item[0]))))

    hits, mistakes_of = {}, {}
    for result in results:
        for check in result.checks:
            if check.misconception and check.status != "passed":
                entry = hits.setdefault(check.misconception, {})
                entry.setdefault(result.student, []).append(check.check_id)
                mistakes_of.setdefault(result.student, set()).add(check.misconception)
    misconceptions = []
    for misconception_id, by_student in hits.items():
        known = CATALOGUE.get(misconception_id)
        misconceptions.append(dict(
            id=misconception_id, name=_(known.name) if known else misconception_id,
            exercise=misconception_id.split(".", 1)[0], hint=_(known.hint) if known else "", count=len(by_student),
            students=[dict(name=clean(student), href=report_href(student), checks=", ".join(ids))
                      for student, ids in sorted(by_student.items())]))
    misconceptions.sort(key=lambda item: (-item["count"], item["id"]))

    table = []
    for result, view in zip(results, students):
        by_exercise = {exercise.exercise: exercise for exercise in result.exercises}
        table.append(dict(view=view, exercises=[points(by_exercise[e].score) if e in by_exercise else "–"
                                                for e in exercise_ids],
                          mistakes=len(mistakes_of.get(result.student, ()))))
    exercise_means = [points(round(statistics.fmean([e.score for r in results for e in r.exercises
                                                     if e.exercise == exercise_id] or [0.0]), 1))
                      for exercise_id in exercise_ids]
    return dict(
        count=len(results), max_score=points(max_score),
        mean=f"{statistics.fmean(scores):.1f}" if scores else "–",
        median=f"{statistics.median(scores):g}" if scores else "–",
        lowest=points(min(scores)) if scores else "–", highest=points(max(scores)) if scores else "–",
        full_marks=sum(score >= max_score for score in scores),
        exercise_ids=exercise_ids, exercise_means=exercise_means,
        checks=checks, misconceptions=misconceptions, students=table,
        histogram=score_histogram(scores, max_score=max_score),
        pass_rates=pass_rate_plot(checks),
    )


# --- rendering -------------------------------------------------------------------------------

def render_student(result, fmt="html", *, row=None, view=None) -> str:
    """One student's report as text in one format (html, md or txt); `view` saves rebuilding it per format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    return _render(f"student.{fmt}", fmt, s=view or student_view(result, row))


def render_index(results, *, rows=None) -> str:
    """The class summary page (HTML)."""
    return _render("index.html", "html", c=class_view(results, rows))


def render_student_reports(results, *, out_dir, rows=None, processes=1) -> list:
    """Write OUT/reports/<student>.html, .md and .txt for each result; returns the paths written.

    rows: optional {student: gradebook row} for when each was graded and why a submission was unreadable.
    processes > 1 splits a large class between forked processes (see _run_forked).
    """
    return _render_reports(results, out_dir, rows or {}, processes)


def _render_reports(results, out_dir, rows, processes, *also, written=frozenset()):
    """The students' reports, in `processes` shares, and the `also` tasks beside them; the reports' paths.
    Students in `written` have theirs already (grader.background_reports)."""
    results = sorted(results, key=lambda item: item.student)
    todo = [result for result in results if result.student not in written]
    tasks = [*(partial(_write_reports, share, out_dir, rows) for share in _shares(todo, processes) if share), *also]
    if processes > 1:
        _run_forked(tasks)
    else:
        for task in tasks:
            task()
    return [report_path(out_dir, result.student, fmt) for result in results for fmt in FORMATS]


def _shares(results, processes):
    return [results[index::processes] for index in range(processes)] if len(results) >= 8 * processes else [results]


def _run_forked(tasks):
    """Run the first task here and each other one in a forked process (the end of a batch, where nothing else
    runs); a task whose process fails runs again here, so that its error surfaces."""
    children = {}
    gc.freeze()  # a collection in a child would touch every object here, and each page it sits on be copied
    try:
        for task in tasks[1:]:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    task()
                    code = 0
                finally:
                    os._exit(code)
            children[pid] = task
        if tasks:
            tasks[0]()
    finally:
        gc.unfreeze()
    for pid, task in children.items():
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
            task()


def _write_reports(results, out_dir, rows):
    for result in results:
        write_student_reports(result, out_dir, rows.get(result.student))


def write_student_reports(result, out_dir, row=None):
    """Write one student's reports, every format."""
    view = student_view(result, row)
    for fmt in FORMATS:
        write_atomically(report_path(out_dir, result.student, fmt), render_student(result, fmt, view=view))


def render_class_summary(results, *, out_dir, rows=None) -> Path:
    """Write OUT/reports/index.html; returns its path."""
    path = index_path(out_dir)
    write_atomically(path, render_index(results, rows=rows))
    return path


def render_latest(latest, *, out_dir, processes=1, written=frozenset()) -> list:
    """Every student's reports and the class summary from (result, gradebook row) pairs, as Gradebook.latest
    gives them; returns the paths of every report, the class summary last. With processes > 1 the summary is
    rendered alongside the students' reports, each in its own forked process. Students in `written` have
    their reports from these same pairs already, and are not rendered again."""
    results = [result for result, _row in latest]
    rows = {result.student: row for result, row in latest}
    summary = partial(render_class_summary, results, out_dir=out_dir, rows=rows)
    return _render_reports(results, out_dir, rows, processes, summary, written=written) + [index_path(out_dir)]


def render_all(*, out_dir, gradebook_url=None, students=None) -> list:
    """Re-render all reports from the gradebook (default OUT/gradebook.sqlite), running no student code.

    Returns the paths written, the class summary last. Raises FileNotFoundError when
    the default gradebook does not exist, and LookupError when it holds no grading.
    """
    from grader.gradebook import Gradebook

    out_dir = Path(out_dir)
    if gradebook_url is None:
        database = out_dir / "gradebook.sqlite"
        if not database.is_file():
            raise FileNotFoundError(_("no gradebook at {path} (grade the class first, or pass --gradebook URL)").format(
                path=database))
        gradebook_url = f"sqlite:///{database.resolve()}"
    gradebook = Gradebook(gradebook_url)
    try:
        latest = gradebook.latest(students)
    finally:
        gradebook.close()
    if not latest:
        raise LookupError(f"the gradebook {gradebook_url} holds no grading yet")
    return render_latest(latest, out_dir=out_dir)
