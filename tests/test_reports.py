"""Reports: golden files, escaping, what hidden checks may show, a real browser, and the `report` command.

Refresh the golden files after an intended change with `make goldens`
(GRADER_UPDATE_GOLDENS=1 python -m pytest tests/test_reports.py -k golden), then review
`git diff tests/goldens`.
"""
import difflib
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlparse

import pytest

from conftest import FIXTURES, REPO
from grader import registry, reports
from grader.config import SOLUTIONS_DIR
from grader.misconceptions import CATALOGUE
from grader.results import CheckResult, ExerciseResult, SubmissionResult

GOLDENS = REPO / "tests" / "goldens"
UPDATE = os.environ.get("GRADER_UPDATE_GOLDENS") == "1"
CHROMIUM = Path("/usr/bin/chromium")

SCRIPT = '<script>alert("pwned")</script>'
NASTY = f'step(tensor([0.5])): {SCRIPT} & <b>bold</b> *stars* _under_ [link](http://evil.example) `tick` | pipe'
HIDDEN_HINT = "HIDDEN-HINT: try z = 0.123456"
HIDDEN_MISCONCEPTION = "step.bool_or_int_dtype"  # used only on ben's hidden check
TRACE = "chain_rule.py, line 20, in backward: q = helper(a, b)\nchain_rule.py, line 12, in helper: return a / (b - b)"


def make_result(student, overrides=None):
    """A full SubmissionResult over the registry's checks: passed unless overridden by check id."""
    overrides = overrides or {}
    exercises = []
    for exercise in registry.EXERCISES:
        checks = []
        for check in exercise.checks:
            fields = {"status": "passed", "message": "", **overrides.get(check.id, {})}
            checks.append(CheckResult(check.id, fields.pop("status"), float(check.points), fields.pop("message"),
                                      check.visibility, check.description, **fields))
        exercises.append(ExerciseResult(exercise.id, tuple(checks)))
    return SubmissionResult(student, tuple(exercises))


def not_attempted(name):
    return {"status": "failed", "message": f"not attempted: {name} still raises NotImplementedError",
            "not_attempted": True}


def ben_overrides():
    at_zero = CATALOGUE["step.true_at_zero"]
    missing = {"status": "missing", "message": "perceptron.py was not found in the submission (there is "
                                               "Perceptron.py: the file must be named exactly perceptron.py)"}
    overrides = {
        "step.scalar": {"status": "failed", "message": "step(0): the result should be 0.0, got 1.0",
                        "hint": at_zero.hint, "misconception": at_zero.id},
        "step.tensor": {"status": "failed", "message": NASTY, "hint": at_zero.hint, "misconception": at_zero.id},
        "step.hidden": {"status": "failed", "hint": HIDDEN_HINT, "misconception": HIDDEN_MISCONCEPTION,
                        "message": "wrong on hidden inputs: step(a float64 tensor of shape (4, 5)) gave a result with "
                                   "the wrong values (the result); the check: step on random tensors"},
        "sigmoid.values": {"status": "forbidden", "message": "sigmoid used torch.sigmoid, which is not allowed in "
                           "sigmoid.py: writing the sigmoid yourself is the exercise (see line 5: torch.sigmoid)"},
        "chain_rule.backward": {"status": "error", "trace": TRACE,
                                "message": "backward(2.0, 1.0) raised ZeroDivisionError: division by zero\x1b[31m "
                                           "(chain_rule.py, line 12: return a / (b - b))"},
        "torch_mlp.fit": {"status": "timeout", "message": "torch_mlp.py did not finish within 10 s (an endless loop, "
                                                          "or a very slow computation?)"},
    }
    for check in registry.exercise("perceptron").checks:
        overrides[check.id] = missing
    for check in registry.exercise("mlp").checks:
        overrides[check.id] = not_attempted(check.target)
    return overrides


def sample_class():
    """Four students, deterministic: full marks, many kinds of failure, an awkward name, an unreadable zip."""
    from grader.grading import problem_result

    sign = CATALOGUE["sigmoid.sign_error"]
    at_zero = CATALOGUE["step.true_at_zero"]
    results = [
        make_result("ada"),
        make_result("ben", ben_overrides()),
        make_result("sam & co", {
            "step.scalar": {"status": "failed", "message": "step(0): the result should be 0.0, got 1.0",
                            "hint": at_zero.hint, "misconception": at_zero.id},
            "sigmoid.values": {"status": "failed", "message": "sigmoid(tensor([2.])): the result should be "
                               "[0.880797], got [0.119203]", "hint": sign.hint, "misconception": sign.id}}),
        problem_result("dee", "dee.zip is not a readable zip file (File is not a zip file)"),
    ]
    rows = {"ben": SimpleNamespace(graded_at=datetime(2025, 3, 14, 9, 26), problem="", seconds=0.5),
            "dee": SimpleNamespace(graded_at=datetime(2025, 3, 14, 9, 27), seconds=0.0,
                                   problem="dee.zip is not a readable zip file (File is not a zip file)")}
    return results, rows


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The sample class rendered to real files, once for this module."""
    out = tmp_path_factory.mktemp("reports-out")
    results, rows = sample_class()
    students = reports.render_student_reports(results, out_dir=out, rows=rows)
    index = reports.render_class_summary(results, out_dir=out, rows=rows)
    return SimpleNamespace(out=out, dir=out / "reports", students=students, index=index, results=results, rows=rows)


def assert_golden(path: Path, name: str):
    actual = path.read_text(encoding="utf-8")
    golden = GOLDENS / name
    if UPDATE:
        GOLDENS.mkdir(exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    if not golden.exists():
        pytest.fail(f"no golden file {golden}: run `make goldens` and review it")
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"golden/{name}", f"rendered/{name}", n=2))
        pytest.fail(f"{name} differs from tests/goldens/{name}; if the change is intended, run `make goldens` and "
                    f"review `git diff tests/goldens`\n{diff[:8000]}")


# --- golden files ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_golden_student_report(rendered, fmt):
    assert_golden(rendered.dir / f"ben.{fmt}", f"ben.{fmt}")


def test_golden_class_summary(rendered):
    assert_golden(rendered.index, "index.html")


def test_files_written_for_every_student_and_format(rendered):
    names = sorted(path.name for path in rendered.dir.iterdir())
    expected = sorted([f"{stem}.{fmt}" for stem in ("ada", "ben", "sam & co", "dee") for fmt in reports.FORMATS]
                      + ["index.html"])
    assert names == expected
    assert rendered.students == [rendered.dir / f"{stem}.{fmt}" for stem in ("ada", "ben", "dee", "sam & co")
                                 for fmt in reports.FORMATS]


# --- content and escaping ----------------------------------------------------------------------

def test_html_is_escaped_and_self_contained(rendered):
    for path in [*rendered.dir.glob("*.html")]:
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "javascript:" not in html.lower(), path.name
        assert "<link" not in html.lower() and "@import" not in html, path.name
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:|//|data:text)""", html, re.I), path.name
        assert "url(http" not in html and "Content-Security-Policy" in html, path.name
        assert "@media print" in html, path.name
    ben = (rendered.dir / "ben.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in ben
    assert "\x1b" not in ben and "division by zero[31m" in ben  # control characters dropped, text kept


def test_markdown_escapes_markup_and_html(rendered):
    md = (rendered.dir / "ben.md").read_text(encoding="utf-8")
    assert SCRIPT not in md and "<b>" not in md and not re.search(r"(?<!\\)\]\(http", md)  # no raw link
    assert r'\<script\>alert("pwned")\</script\> \& \<b\>bold\</b\> \*stars\* \_under\_ \[link\](http' in md
    # the multi-line trace is a fenced block inside its list item; the check ids are code spans
    assert "  - Where it happened in your code (innermost last):\n    ```\n    chain_rule.py, line 20, in backward" in md
    assert "return a / (b - b)\n    ```\n" in md
    assert "`perceptron.train_hidden`" in md


def test_text_report_keeps_the_message_readable(rendered):
    txt = (rendered.dir / "ben.txt").read_text(encoding="utf-8")
    assert " ".join(SCRIPT.split()) in " ".join(txt.split())  # a terminal shows the text as it is
    assert "\x1b" not in txt
    assert max(len(line) for line in txt.splitlines() if not line.lstrip().startswith(("PASSED", "FAILED", "ERROR",
               "NOT ATTEMPTED", "FORBIDDEN", "MISSING", "TIMEOUT"))) <= 100


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_each_check_shows_status_description_message_known_mistake_and_hint(rendered, fmt):
    text = (rendered.dir / f"ben.{fmt}").read_text(encoding="utf-8")
    plain = text.replace("\\", "").replace("&#39;", "'").replace("&#34;", '"')
    for check in registry.ALL_CHECKS:
        assert check.id in plain, check.id
    assert "Looks like a known mistake: step fires at z == 0" in plain
    assert CATALOGUE["step.true_at_zero"].hint in plain
    assert "step(0): the result should be 0.0, got 1.0" in plain
    for label in ("passed", "failed", "error", "timeout", "forbidden", "missing", "not attempted"):
        assert label in plain.lower(), label
    assert "Graded 2025-03-14 09:26 UTC." in plain
    assert "chain_rule.py, line 12, in helper" in plain  # the student's own frames, on a public check
    assert "The same problem as in the check above." in plain  # perceptron: one message, said once


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_hidden_checks_show_only_description_and_message(rendered, fmt):
    text = (rendered.dir / f"ben.{fmt}").read_text(encoding="utf-8").replace("\\", "")
    assert "wrong on hidden inputs: step(a float64 tensor of shape (4, 5))" in text
    assert "step on random tensors, with zeros and NaN" in text
    assert "HIDDEN-HINT" not in text and "0.123456" not in text
    assert CATALOGUE[HIDDEN_MISCONCEPTION].name not in text


def test_view_model_enforces_the_hidden_rule():
    check = CheckResult("step.hidden", "error", 3.0, "wrong on hidden inputs", "hidden", "d", "hint", False,
                        "step.true_at_zero", trace="step.py, line 3, in step: return z / 0")
    view = reports.check_view(check)
    assert (view.hint, view.known_mistake, view.trace, view.message) == ("", "", "", "wrong on hidden inputs")
    public = reports.check_view(CheckResult("step.scalar", "error", 2.0, "m", "public", "d", "h", False,
                                            "step.true_at_zero", trace="t"))
    assert (public.hint, public.known_mistake, public.trace) == ("h", CATALOGUE["step.true_at_zero"].name, "t")


def test_class_summary_content(rendered):
    html = rendered.index.read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "Score distribution" in html and "Pass rate of each check" in html
    assert '<a href="sam%20%26%20co.html">sam &amp; co</a>' in html
    for student in ("ada", "ben", "dee"):
        assert f'<a href="{student}.html">{student}</a>' in html
    # the most frequent known mistake first, with who made it, linked
    mistakes = html[html.index('id="mistakes"'):html.index('id="checks"')]
    assert mistakes.index("step fires at z == 0") < mistakes.index("sign error in the exponential")
    at_zero = mistakes[mistakes.index('id="mistake-step.true_at_zero"'):]
    at_zero = at_zero[:at_zero.index("</tr>")]
    assert ('<a href="ben.html">ben</a> <span class="muted">(step.scalar, step.tensor)</span>, '
            '<a href="sam%20%26%20co.html">sam &amp; co</a> <span class="muted">(step.scalar)</span>') in at_zero
    assert '<td class="num">2</td>' in at_zero and mistakes.count('href="ben.html"') == 2
    assert CATALOGUE[HIDDEN_MISCONCEPTION].name in mistakes  # the instructor sees hidden checks' mistakes
    # pass rates: step.scalar passed by ada only of four; mean and median of 100, x, y, 0
    assert re.search(r"<code>step\.scalar</code>.*?1/4.*?25%", html, re.S)
    scores = sorted(result.score for result in rendered.results)
    assert f"{sum(scores) / 4:.1f}" in html and "dee.zip is not a readable zip file" in html


def test_plots_are_deterministic_and_contain_no_date(rendered):
    again = reports.render_index(rendered.results, rows=rendered.rows)
    assert again == rendered.index.read_text(encoding="utf-8")
    svg = re.findall(r"<svg.*?</svg>", again, re.S)
    assert len(svg) == 2 and all("<dc:date>" not in item and "<metadata>" not in item for item in svg)
    ids = re.findall(r'\sid="([^"]+)"', again)
    assert len(ids) == len(set(ids)), "ids must be unique across the page's inline plots"


def test_plots_draw_the_data_and_label_it_in_the_reports_language(rendered):
    from grader import plots
    from grader.i18n import set_language

    histogram = str(plots.score_histogram([100.0, 95.0, 40.0, 0.0, 0.0], max_score=100.0))
    counts = [int(count) for count in re.findall(r"<title>[^<]*–[^<]*: (\d+)</title>", histogram)]
    assert counts == [2, 0, 0, 0, 1, 0, 0, 0, 0, 2]  # a tenth of the points each; 100 falls in the last bar
    heights = [float(height) for height in re.findall(r'<rect [^>]*height="([\d.]+)"', histogram)]
    assert heights[0] == heights[-1] > heights[4] > 0 and heights[1] == 0
    assert "mean 47.0" in histogram and "median 40" in histogram
    checks = [{"id": "step.scalar", "rate": 50.0, "visibility": "public"}, {"id": "step.hidden", "rate": 100.0, "visibility": "hidden"}]
    rates = str(plots.pass_rate_plot(checks))
    widths = [float(width) for width in re.findall(r'<rect x="170" [^>]*width="([\d.]+)"[^>]*><title>', rates)]
    assert len(widths) == 2 and widths[1] == 2 * widths[0]
    assert "step.hidden: 100%" in rates and plots.COLOURS["hidden"] in rates
    assert "<script" not in plots.pass_rate_plot([{"id": "<script>x</script>", "rate": 1.0, "visibility": "public"}])
    set_language("zh")
    try:
        chinese = str(plots.score_histogram([50.0], max_score=100.0))
    finally:
        set_language("en")
    assert "成绩分布" in chinese or any("\u4e00" <= char <= "\u9fff" for char in chinese)  # text, drawn by the browser's fonts


def test_templates_fail_on_undefined_names_and_go_through_gettext(rendered):
    from jinja2.exceptions import UndefinedError

    with pytest.raises(UndefinedError):
        reports.environment("html").from_string("{{ nowhere.at_all }}").render()
    reports._environment.cache_clear()  # a fresh environment: it translates the shared labels on first use
    try:
        reports.environment("txt").install_gettext_callables(lambda text: {"Hint:": "提示："}.get(text, text),
                                                             lambda one, many, n: one if n == 1 else many, newstyle=True)
        assert "提示：" in reports.render_student(rendered.results[1], "txt")
    finally:
        reports._environment.cache_clear()
    assert "提示：" not in reports.render_student(rendered.results[1], "txt")


def test_report_file_names_are_safe():
    assert reports.report_stem("index") == "student-index" and reports.report_stem("ada") == "ada"
    assert reports.report_href("sam & co") == "sam%20%26%20co.html"
    assert reports.report_href("a#b?c") == "a%23b%3Fc.html"


# --- in a real browser ---------------------------------------------------------------------------

def _chromium_args():
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run"]
    return (["--no-sandbox"] if os.geteuid() == 0 else []) + args


def test_reports_in_headless_chromium(rendered, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless browser test needs Debian's chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it when run as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    problems = []
    shots = Path(os.environ.get("GRADER_REPORT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=_chromium_args())
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            page.on("request", lambda request: problems.append(f"request left the folder: {request.url}")
                    if not request.url.startswith(rendered.dir.as_uri()) else None)

            page.goto(rendered.index.as_uri())
            assert page.title().startswith("Class summary")
            assert page.locator("svg.plot").count() == 2
            assert page.locator("svg.plot").first.bounding_box()["width"] > 300
            page.screenshot(path=str(shots / "index.png"), full_page=True)
            links = page.eval_on_selector_all("a[href]", "elements => elements.map(e => e.href)")
            assert len(set(links)) == len(rendered.results)
            for link in sorted(set(links)):
                target = Path(unquote(urlparse(link).path))
                assert target.is_file() and target.parent == rendered.dir, link
                page.goto(link)
                assert page.title().startswith("Feedback for"), link
                assert page.locator("section.exercise").count() == len(registry.EXERCISES), link
            page.goto((rendered.dir / "ben.html").as_uri())
            page.screenshot(path=str(shots / "ben.png"), full_page=True)
            assert page.locator("script").count() == 0
            assert "pwned" in page.inner_text("body")  # the script shows as text, it does not run
            page.emulate_media(media="print")
            page.screenshot(path=str(shots / "ben-print.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    for name in ("index.png", "ben.png", "ben-print.png"):
        data = (shots / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, name


# --- a real class, graded, then re-rendered from the gradebook --------------------------------------

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Two students graded for real: the references, and one with classic mistakes in three files."""
    from grader.batch import grade_class

    root = tmp_path_factory.mktemp("report-class")
    submissions = root / "class"
    for student in ("ada", "ben"):
        shutil.copytree(SOLUTIONS_DIR, submissions / student, ignore=shutil.ignore_patterns("__pycache__"))
    for fixture in ("step_at_zero", "sigmoid_sign_error", "mlp_sum_not_mean"):
        for path in (FIXTURES / fixture).glob("*.py"):
            shutil.copyfile(path, submissions / "ben" / path.name)
    out = root / "out"
    summary = grade_class(submissions_dir=submissions, out_dir=out, workers=2, secret="report-secret")
    return SimpleNamespace(out=out, summary=summary, secret="report-secret")


def test_grade_renders_reports_and_says_where(graded_class):
    from grader.progress import BatchProgress

    out = graded_class.out
    assert graded_class.summary.reports_index == out / "reports" / "index.html"
    for student in ("ada", "ben"):
        for fmt in reports.FORMATS:
            assert (out / "reports" / f"{student}.{fmt}").stat().st_size > 1000
    assert "Looks like a known mistake: step fires at z == 0" in (out / "reports" / "ben.txt").read_text()
    printed = io.StringIO()
    BatchProgress(printed).print_summary(graded_class.summary)
    assert f"class summary: {out / 'reports' / 'index.html'}" in printed.getvalue()


def _expected_numbers(expectation):
    """Every number a hidden expectation holds, as the judge would print it, when it is not a round number."""
    import numpy as np

    from grader.compare import Map, Number, Seq, Tensor, format_number

    if isinstance(expectation, Tensor):
        values = np.asarray(expectation.values, dtype=np.float64).ravel()
    elif isinstance(expectation, Number):
        values = np.asarray([expectation.value], dtype=np.float64)
    elif isinstance(expectation, Seq):
        return {text for item in expectation.items for text in _expected_numbers(item)}
    elif isinstance(expectation, Map):
        return {text for item in expectation.items.values() for text in _expected_numbers(item)}
    else:
        return set()
    texts = set()
    for value in values[np.isfinite(values)]:
        # as the judge prints a number, and as arrays print; only numbers with 3+ decimals are telling
        for text in (format_number(float(value)), f"{value:.4f}"):
            if re.search(r"\.\d{3}", text.split("e")[0].rstrip("0")):  # 0.1250 counts, 0.0000 or 0.5000 not
                texts.add(text)
    return texts


NUMBER = re.compile(r"(?<![\d.])-?\d+\.\d+(?:e[+-]?\d+)?")


def _leaks(secrets, text):
    """The secrets a text shows: numbers as whole tokens (not 0.1234 inside 10.12345), calls as substrings."""
    numbers = {secret for secret in secrets if NUMBER.fullmatch(secret)}
    found = numbers & set(NUMBER.findall(text))
    return sorted(found | {secret for secret in secrets - numbers if secret in text})


def test_rendered_reports_leak_no_hidden_input_or_expected_value(graded_class):
    from grader.gradebook import Gradebook
    from grader.grading import build_probes
    from grader.seeds import hidden_seed

    def values_of(checks, seed):
        found = set()
        for check in checks:
            for probe in build_probes([check], hidden_seed=seed)[check.id]:
                if re.search(r"\d\.\d", probe.shows):  # a call shown with its values (not by shape alone)
                    found.add(probe.shows)
                if not callable(probe.expected):
                    found |= _expected_numbers(probe.expected)
        return found

    hidden_checks = [check for check in registry.ALL_CHECKS if check.visibility == "hidden"]
    public = values_of([check for check in registry.ALL_CHECKS if check.visibility == "public"], 0)
    gradebook = Gradebook(f"sqlite:///{graded_class.out / 'gradebook.sqlite'}")
    try:
        latest = {result.student: result for result, _row in gradebook.latest()}
    finally:
        gradebook.close()
    files = sorted((graded_class.out / "reports").iterdir())
    texts = {path.name: path.read_text(encoding="utf-8").replace("\\", "") for path in files}
    failed_hidden = 0
    for student, result in latest.items():
        # what the hidden checks computed for this student, less what the public checks show anyway
        secrets = values_of(hidden_checks, hidden_seed(graded_class.secret, student)) - public
        assert len(secrets) > 50, student
        hidden_messages = [check.message for check in result.checks if check.visibility == "hidden" and check.message]
        failed_hidden += len(hidden_messages)
        for message in hidden_messages:
            assert "wrong on hidden inputs" in message or "not attempted" in message, message
            assert not _leaks(secrets, message), message
        for name, text in texts.items():
            leaked = _leaks(secrets, text)
            assert not leaked, f"{name} shows hidden values of {student}: {leaked[:5]}"
    assert failed_hidden >= 3  # ben fails hidden checks in step, sigmoid and mlp: the test has teeth


def test_report_command_rerenders_from_the_gradebook(graded_class):
    out = graded_class.out
    before = {path.name: path.read_bytes() for path in (out / "reports").iterdir()}
    shutil.rmtree(out / "reports")
    done = subprocess.run([sys.executable, "-m", "grader", "report", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"class summary: {out / 'reports' / 'index.html'}" in done.stdout
    after = {path.name: path.read_bytes() for path in (out / "reports").iterdir()}
    assert after == before  # the same reports, from the gradebook alone


def test_report_command_explains_a_missing_gradebook(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "report", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "no gradebook at" in done.stderr
    assert not (tmp_path / "gradebook.sqlite").exists() and not (tmp_path / "reports").exists()


def test_forked_report_writers_start_with_the_heap_frozen_and_the_parent_thaws_after(tmp_path):
    """A garbage collection in a forked report writer would touch every object the coordinator holds (all
    the class's results), copying each page it sits on: the forks start with those objects frozen out of
    the collector's reach, and the coordinator unfreezes them once its children are done."""
    import gc

    def record(name):
        return lambda: (tmp_path / name).write_text(str(gc.get_freeze_count()))

    assert gc.get_freeze_count() == 0
    reports._run_forked([record("here"), record("forked")])
    assert int((tmp_path / "forked").read_text()) > 1000  # the objects alive at the fork, out of the collector's way
    assert gc.get_freeze_count() == 0
