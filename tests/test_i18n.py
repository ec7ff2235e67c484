"""Chinese and English: every message comes from a complete gettext catalogue."""
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from conftest import REPO
from grader.catalogues import catalog_path, extract, untranslated
from grader.i18n import LANGUAGES, choose_language, set_language, translations

PLACEHOLDER = re.compile(r"\{[^}]*\}|%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-z]")


@pytest.fixture(scope="module")
def template():
    return extract()


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_string_of_the_code_is_in_the_catalogue(template, lang):
    missing = untranslated(template, lang)
    assert missing == [], f"run `python -m grader.catalogues` and translate these in {catalog_path(lang)}: {missing[:10]}"


def test_the_catalogue_cannot_silently_fall_behind(template, tmp_path, monkeypatch):
    """A new string in the code is reported as missing until it is translated."""
    template.add("A sentence the catalogue has never seen")
    assert "A sentence the catalogue has never seen" in untranslated(template, "zh")


def test_translations_keep_every_placeholder():
    with open(catalog_path("zh"), "rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string[:catalog.num_plurals] if isinstance(message.string, tuple) else (message.string,)
        for translated in strings:  # every plural form the language has, against the singular's placeholders
            if not translated or sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translated)):
                wrong.append((source, translated))
    assert wrong == []


def test_the_language_comes_from_the_one_precedence():
    assert choose_language("zh", environ={"GRADER_LANG": "en"}) == "zh"
    assert choose_language(None, environ={"GRADER_LANG": "zh", "LANG": "en_US.UTF-8"}) == "zh"
    assert choose_language(None, environ={"LANG": "zh_CN.UTF-8"}) == "zh"
    assert choose_language(None, environ={"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"
    assert choose_language(None, environ={}) == "en"
    with pytest.raises(ValueError):
        choose_language("fr")


def test_the_self_check_speaks_chinese():
    zh = translations("zh").gettext
    done = subprocess.run([sys.executable, "-m", "grader", "check", "step", "--dir", "samples/student", "--lang", "zh"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for english in ("FAIL", "Looks like a known mistake: {name}.", "Hint: {hint}",
                    "Fix the first failing check of each file first: later ones often follow from it."):
        chinese = zh(english)
        assert chinese != english
        assert chinese.split("{")[0] in done.stdout
    assert zh("step fires at z == 0") in done.stdout
    english = subprocess.run([sys.executable, "-m", "grader", "check", "step", "--dir", "samples/student", "--lang", "en"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "Looks like a known mistake: step fires at z == 0." in english.stdout


def test_reports_follow_the_active_language(tmp_path):
    from grader.reports import render_student_reports
    from grader.results import CheckResult, ExerciseResult, SubmissionResult

    result = SubmissionResult("ana", (ExerciseResult("step", (CheckResult(
        "step.scalar", "failed", 2.0, "step(0): the result should be 0.0, got 1.0", "public",
        "step on Python numbers returns 1 or 0", "", False, "step.true_at_zero"),)),))
    try:
        set_language("zh")
        paths = render_student_reports([result], out_dir=tmp_path)
    finally:
        set_language("en")
    html = next(path for path in paths if str(path).endswith(".html")).read_text()
    zh = translations("zh").gettext
    assert zh("step on Python numbers returns 1 or 0") in html
    assert zh("step fires at z == 0") in html


@pytest.mark.parametrize("args", [["grade", "/nonexistent-class", "--out", "OUT"], ["report", "/nonexistent-out"],
                                  ["check", "step", "--timeout", "soon"]], ids=["grade", "report", "check"])
def test_errors_of_the_commands_are_translated_too(args, tmp_path):
    args = [str(tmp_path / "out") if arg == "OUT" else arg for arg in args]
    done = subprocess.run([sys.executable, "-m", "grader", *args, "--lang", "zh"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(translations("zh").gettext("error: {problem}").split("{")[0])


def test_english_needs_no_babel_which_only_reads_the_other_catalogues():
    """Importing Babel costs ~40 ms in each process that sets a language (the coordinator, before it starts the
    workers, and every judge): English, which has no catalogue to read, does without it."""
    probe = ("import sys\nfrom grader.i18n import _, set_language\n"
             "set_language('en'); english = 'babel' in sys.modules\n"
             "set_language('zh'); print(english, 'babel' in sys.modules, _('passed') != 'passed')")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]
