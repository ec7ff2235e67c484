"""The self-check command through a real subprocess: exit codes and clear messages."""
import subprocess
import sys

from conftest import REPO


def run(*args):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_all_checks_pass_on_the_references_and_exit_0():
    done = run("check", "--dir", "solutions")
    assert done.returncode == 0, done.stdout
    assert "Score: 71/71" in done.stdout and "FAIL" not in done.stdout


def test_stubs_exit_1_and_say_not_attempted():
    done = run("check", "step", "--dir", "exercises")
    assert done.returncode == 1
    assert done.stdout.count("NOT ATTEMPTED") == 3 and "Traceback" not in done.stdout + done.stderr


def test_missing_files_are_explained(tmp_path):
    done = run("check", "chain_rule", "--dir", str(tmp_path))
    assert done.returncode == 1
    assert "MISSING" in done.stdout and "chain_rule.py was not found" in done.stdout


def test_bad_arguments_get_a_one_line_error(tmp_path):
    unknown = run("check", "sigmod")
    assert unknown.returncode == 2 and "unknown exercise 'sigmod'" in unknown.stderr
    missing = run("check", "--dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
    bad_timeout = run("check", "step", "--timeout", "soon")
    assert bad_timeout.returncode == 2 and "--timeout" in bad_timeout.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr + bad_timeout.stderr
