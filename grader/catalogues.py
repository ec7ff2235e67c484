"""Keep the message catalogues in step with the code: `python -m grader.catalogues`.

Extracts every translatable string (gettext `_`, `N_` in grader/, `_()` in the
Jinja2 templates) with Babel, writes grader/locale/grader.pot, and merges it
into each language's .po, keeping existing translations. `--check` only reports
strings that a catalogue lacks or leaves untranslated, and exits 1 if there are any.
"""
import argparse
import copy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from grader.config import PACKAGE_DIR, PROJECT_DIR
from grader.i18n import LANGUAGES, LOCALE_DIR

METHODS = [("harness/**.py", "ignore"), ("**.py", "python")]
TEMPLATE_METHODS = [("README.md", "ignore"), ("**.html", "jinja2.ext:babel_extract"),
                    ("**.md", "jinja2.ext:babel_extract"), ("**.txt", "jinja2.ext:babel_extract"),
                    ("**.j2", "jinja2.ext:babel_extract")]
TEMPLATE_OPTIONS = {"**": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true",
                           "trim_blocks": "true", "lstrip_blocks": "true"}}


def extract() -> Catalog:
    """Every translatable string of the code and the templates, with where it is used."""
    catalog = Catalog(project="nn-grader", charset="utf-8")
    sources = [(PACKAGE_DIR, METHODS, {}), (PROJECT_DIR / "templates", TEMPLATE_METHODS, TEMPLATE_OPTIONS)]
    for folder, methods, options in sources:
        for filename, line, message, _comments, _context in extract_from_dir(
                str(folder), methods, options, keywords=DEFAULT_KEYWORDS, strip_comment_tags=True):
            where = (str((Path(folder) / filename).relative_to(PROJECT_DIR)), line)
            catalog.add(message, locations=[where])
    return catalog


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / LANGUAGES[lang] / "LC_MESSAGES" / "grader.po"


def load(lang: str) -> Catalog:
    path = catalog_path(lang)
    if not path.exists():
        return Catalog(locale=LANGUAGES[lang], project="nn-grader", charset="utf-8")
    with open(path, "rb") as handle:
        return read_po(handle, locale=LANGUAGES[lang])


def untranslated(template: Catalog, lang: str):
    """msgids of the code that the language's catalogue lacks or leaves empty."""
    catalog = load(lang)
    missing = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        if entry is None or not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update(template: Catalog):
    """Write the .pot and merge into every .po; English translates each string to itself."""
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCALE_DIR / "grader.pot", "wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, include_lineno=False)
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)  # update shares message objects
        if lang == "en":
            for message in catalog:
                empty = not message.string or (isinstance(message.string, tuple) and not all(message.string))
                if message.id and empty:
                    message.string = message.id
        catalog.obsolete.clear()
        path = catalog_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True, include_lineno=False)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.catalogues", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing translations")
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        update(template)
    problems = {lang: untranslated(template, lang) for lang in LANGUAGES}
    for lang, missing in problems.items():
        for message in missing:
            print(f"{catalog_path(lang).relative_to(PROJECT_DIR)}: no translation for {message!r}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
