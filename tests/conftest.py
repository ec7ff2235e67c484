"""Shared fixtures: one warm zygote for the library-level tests, helpers for fake submissions."""
import textwrap
from pathlib import Path

import pytest

from grader.runner import Zygote

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "submissions"


@pytest.fixture(scope="session")
def zygote():
    with Zygote() as worker:
        yield worker


@pytest.fixture
def make_submission(tmp_path):
    """Write {filename: source} into a fresh folder and return it."""

    def make(files, name="student"):
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        for filename, source in files.items():
            path = folder / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        return folder

    return make
