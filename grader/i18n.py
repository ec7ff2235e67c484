"""Messages in the student's language: gettext catalogues made with Babel.

English is the source language (the msgids). Other languages live in
grader/locale/<lang>/LC_MESSAGES/grader.po and are read directly (no compiled
.mo needed). The language comes from --lang, then GRADER_LANG, then the locale
(LC_ALL, LC_MESSAGES, LANG), else English.
"""
import io
import os
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "en", "zh": "zh_CN"}

_active = {"translations": None, "lang": "en"}


def N_(message):
    """Mark a string for translation without translating it now (it is data, shown later)."""
    return message


@lru_cache(maxsize=None)
def translations(lang):
    """A gettext translations object for `lang` ("en" or "zh"); English needs none, nor Babel (~40 ms to import,
    in every process that sets a language: the coordinator before it starts the workers, each judge)."""
    import gettext

    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / LANGUAGES[lang] / "LC_MESSAGES" / "grader.po"
    with open(path, "rb") as handle:
        catalog = read_po(handle, locale=LANGUAGES[lang])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def choose_language(cli=None, environ=None):
    environ = os.environ if environ is None else environ
    if cli:
        if cli not in LANGUAGES:
            raise ValueError(f"--lang must be one of {', '.join(LANGUAGES)}, got {cli!r}")
        return cli
    if environ.get("GRADER_LANG") in LANGUAGES:
        return environ["GRADER_LANG"]
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(variable):
            return "zh" if environ[variable].lower().startswith("zh") else "en"
    return "en"


def set_language(lang):
    _active["translations"] = translations(lang)
    _active["lang"] = lang


def language():
    """The active language ("en" or "zh"), for processes that must speak it too."""
    return _active["lang"]


def _(message):
    """Translate a message into the active language."""
    active = _active["translations"]
    return active.gettext(message) if active is not None else message


def ngettext(singular, plural, count):
    active = _active["translations"]
    if active is None:
        return singular if count == 1 else plural
    return active.ngettext(singular, plural, count)
