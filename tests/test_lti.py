"""LTI 1.3 AGS publishing against a real platform implementation (lti1p3platform) on loopback."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest

from grader.config import ConfigError
from grader.lti import load_lti_config, publish_scores, read_users
from grader.lti.ledger import LEDGER_NAME, Ledger, LedgerError
from grader.lti.platform import SCORE_SCOPE, AgsClient, scores_url
from grader.lti.scores import ResultsMissing

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lti_platform import LoopbackPlatform, free_port, rsa_key_pair  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CLIENT_ID = "nn-grader-tool"
KEY_ID = "tool-key-1"
USERS = {"ada": "lti-501", "ben": "lti-502", "cara": "lti-503", "dan": "lti-504"}


# --- the class to publish: results and reports made by the grader's own writers ----------------

def _result(student, failures):
    from grader import registry
    from grader.results import CheckResult, ExerciseResult, SubmissionResult

    exercises = []
    for exercise in registry.EXERCISES:
        checks = []
        for check in exercise.checks:
            status, message = failures.get(check.id, ("passed", ""))
            checks.append(CheckResult(check.id, status, float(check.points), message, check.visibility,
                                      check.description))
        exercises.append(ExerciseResult(exercise.id, tuple(checks)))
    return SubmissionResult(student, tuple(exercises))


CLASS = {
    "ada": {},
    "ben": {"step.scalar": ("failed", "step(0): the result should be 0.0, got 1.0"),
            "sigmoid.values": ("forbidden", "sigmoid used torch.sigmoid, which is not allowed in sigmoid.py"),
            "chain_rule.backward": ("error", "backward(2.0, 1.0) raised ZeroDivisionError: division by zero"),
            "mlp.forward": ("failed", "not attempted: mlp_forward still raises NotImplementedError"),
            "mlp.train": ("failed", "not attempted: train still raises NotImplementedError")},
    "cara": {"torch_mlp.fit": ("timeout", "torch_mlp.py did not finish within 10 s")},
    "dan": {"perceptron.single": ("missing", "perceptron.py was not found in the submission")},
}


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """OUT with results/<student>.json and reports/<student>.md for four students, as `grade` writes them."""
    from grader.exports import write_result
    from grader.reports import render_student_reports

    out = tmp_path_factory.mktemp("graded") / "out"
    results = [_result(student, failures) for student, failures in CLASS.items()]
    for result in results:
        write_result(out, result)
    render_student_reports(results, out_dir=out)
    return out


@pytest.fixture
def out(graded_class, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(graded_class, copy)
    return copy


@pytest.fixture(scope="session")
def tool_keys():
    return rsa_key_pair()


@pytest.fixture(scope="session")
def platform_keys():
    return rsa_key_pair()


@pytest.fixture
def platform(tool_keys, platform_keys):
    with LoopbackPlatform(client_id=CLIENT_ID, tool_public_pem=tool_keys[1], key_id=KEY_ID,
                          platform_keys=platform_keys) as running:
        running.state.roster = set(USERS.values())
        yield running


def write_config(folder, platform, tool_private_pem, **changes):
    """lti.toml (and the key file beside it) for `platform`; `changes` replace or, with None, drop keys."""
    (folder / "tool-key.pem").write_bytes(tool_private_pem)
    table = {"issuer": "https://lms.example.edu", "client_id": CLIENT_ID, "deployment_id": "deployment-1",
             "token_url": platform.token_url, "lineitem": platform.lineitem_url(), "private_key_file": "tool-key.pem",
             "key_id": KEY_ID, "backoff_seconds": 0.01, "max_attempts": 3}
    table.update(changes)
    lines = ["[lti]"] + [f"{key} = {json.dumps(value)}" for key, value in table.items() if value is not None]
    path = folder / "lti.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path, platform, tool_keys):
    return write_config(tmp_path, platform, tool_keys[0])


def publish(out, config_file, *, client=None, **options):
    options.setdefault("users", USERS)
    return publish_scores(out_dir=out, config=load_lti_config(config_file), client=client, **options)


def kinds(summary):
    return {outcome.student: outcome.kind for outcome in summary.outcomes}


def ledger_rows(out):
    with Ledger(out / LEDGER_NAME, read_only=True) as ledger:
        return ledger.rows()


def run_cli(*args, cwd=REPO):
    environment = {**os.environ, "GRADER_LANG": "en", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "grader", "lti", "publish", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=environment)


# --- publishing ----------------------------------------------------------------------------------

def test_every_score_is_accepted_and_stored_by_the_platform(out, platform, config_file):
    summary = publish(out, config_file)

    assert summary.ok and kinds(summary) == {name: "posted" for name in CLASS}
    stored = platform.state.stored()
    assert sorted(stored) == sorted(USERS.values())
    expected = {student: json.loads((out / "results" / f"{student}.json").read_text())["score"] for student in CLASS}
    for student, user_id in USERS.items():
        [score] = stored[user_id]
        assert score["scoreGiven"] == expected[student] and score["scoreMaximum"] == 100.0
        assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
        assert datetime.fromisoformat(score["timestamp"]).utcoffset() is not None
    assert expected["ben"] < 100 and expected["ada"] == 100
    # the comment: the report's score line and its first failing checks, without Markdown marks
    ben = stored["lti-502"][0]["comment"].splitlines()
    assert ben[0].startswith("Score: ") and "points" in ben[0] and "**" not in ben[0]
    assert ben[1].startswith("FAILED step.scalar (0/2)") and "got 1.0" in ben[2]
    assert any(line.startswith("FORBIDDEN sigmoid.values") for line in ben)
    assert ben[-1] == "... and 2 more; the full report lists every check."
    assert stored["lti-501"][0]["comment"].startswith("Score: 100 of 100 points")
    # one token for the whole class, every score sent with the AGS media type to <lineitem>/scores
    assert platform.state.tokens_issued == 1
    assert {(path, content) for path, _, content in platform.state.score_requests} == {
        ("/lineitems/7/scores", "application/vnd.ims.lis.v1.score+json")}
    rows = ledger_rows(out)
    assert [(row["student"], row["user_id"], row["outcome"], row["http_status"]) for row in rows] == [
        (student, USERS[student], "posted", 201) for student in sorted(CLASS)]
    assert all(len(row["result_hash"]) == 64 and row["lineitem"] == platform.lineitem_url() for row in rows)


def test_the_comment_says_why_a_submission_could_not_be_graded_or_falls_back_to_the_result(out, platform,
                                                                                        config_file):
    from grader.exports import write_result
    from grader.grading import problem_result
    from grader.reports import render_student_reports

    problem = "eve.zip is not a readable zip file (File is not a zip file)"
    eve = problem_result("eve", problem)
    write_result(out, eve)
    render_student_reports([eve], out_dir=out, rows={"eve": SimpleNamespace(problem=problem, graded_at=None)})
    (out / "reports" / "cara.md").unlink()

    assert publish(out, config_file, users={**USERS, "eve": "lti-505"}).ok is False  # eve is not on the roster
    platform.state.roster.add("lti-505")
    publish(out, config_file, users={**USERS, "eve": "lti-505"})

    [eve_score] = platform.state.stored()["lti-505"]
    assert eve_score["scoreGiven"] == 0 and eve_score["comment"].splitlines() == [
        "Score: 0 of 100 points · 0 of 35 checks passed",
        "Your submission could not be graded: eve.zip is not a readable zip file (File is not a zip file)"]
    assert platform.state.stored()["lti-503"][0]["comment"] == "Score: 95 of 100 points\ntorch_mlp.fit: timeout"


def test_publishing_twice_stores_each_score_once(out, platform, config_file):
    publish(out, config_file)
    requests_before = len(platform.state.score_requests)

    again = publish(out, config_file)

    assert again.ok and kinds(again) == {name: "unchanged" for name in CLASS}
    assert len(platform.state.score_requests) == requests_before and platform.state.token_requests == 1
    assert all(len(history) == 1 for history in platform.state.stored().values())
    assert len(ledger_rows(out)) == len(CLASS)


def test_a_changed_result_is_posted_again_as_an_update(out, platform, config_file):
    from grader.exports import write_result

    publish(out, config_file)
    write_result(out, _result("ben", {"step.scalar": ("failed", "step(0): the result should be 0.0, got 1.0")}))

    again = publish(out, config_file)

    assert kinds(again) == {"ada": "unchanged", "ben": "updated", "cara": "unchanged", "dan": "unchanged"}
    first, second = platform.state.stored()["lti-502"]
    assert second["scoreGiven"] == 98.0 > first["scoreGiven"]
    assert datetime.fromisoformat(second["timestamp"]) > datetime.fromisoformat(first["timestamp"])
    assert "sigmoid.values" not in second["comment"]
    assert [row["outcome"] for row in ledger_rows(out) if row["student"] == "ben"] == ["posted", "posted"]


def test_force_posts_unchanged_scores_again(out, platform, config_file):
    publish(out, config_file)
    again = publish(out, config_file, force=True)
    assert set(kinds(again).values()) == {"updated"}
    assert all(len(history) == 2 for history in platform.state.stored().values())


def test_dry_run_contacts_nobody_and_writes_nothing(out, platform, config_file):
    platform.state.roster = None
    dry = publish(out, config_file, dry_run=True)
    assert set(kinds(dry).values()) == {"would_post"}
    assert platform.state.token_requests == 0 and not platform.state.score_requests
    assert not (out / LEDGER_NAME).exists()

    publish(out, config_file, users=None)
    (out / "results" / "ada.json").write_text((out / "results" / "ada.json").read_text().replace(
        '"score": 100.0', '"score": 99.0', 1))
    requests_before = len(platform.state.score_requests)
    result = run_cli(out, "--config", config_file, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would update ada -> ada: 99/100" in result.stdout
    assert "dry run: 0 would be posted, 1 would be updated, 3 unchanged; nothing was sent" in result.stdout
    assert len(platform.state.score_requests) == requests_before


def test_without_a_users_file_the_student_id_is_the_user_id(out, platform, config_file):
    platform.state.roster = None
    summary = publish(out, config_file, users=None)
    assert summary.ok and sorted(platform.state.stored()) == sorted(CLASS)


def test_a_query_in_the_lineitem_url_stays_after_scores(tmp_path, out, platform, tool_keys):
    config_file = write_config(tmp_path, platform, tool_keys[0], lineitem=platform.lineitem_url(query="type_id=3"))
    assert publish(out, config_file).ok
    assert {(path, args["type_id"]) for path, args, _ in platform.state.score_requests} == {("/lineitems/7/scores", "3")}


@pytest.mark.parametrize("lineitem, expected", [
    ("https://lms.example/api/lti/courses/1/line_items/2", "https://lms.example/api/lti/courses/1/line_items/2/scores"),
    ("https://lms.example/lineitems/2/", "https://lms.example/lineitems/2/scores"),
    ("https://lms.example/mod/lti/services.php/3/lineitems/9/lineitem?type_id=1",
     "https://lms.example/mod/lti/services.php/3/lineitems/9/lineitem/scores?type_id=1"),
])
def test_scores_url_appends_to_the_path_before_the_query(lineitem, expected):
    assert scores_url(lineitem) == expected


# --- refusals, failures and retries --------------------------------------------------------------

def test_a_bad_key_is_refused_by_the_token_endpoint_and_nothing_is_lost(tmp_path, out, platform, tool_keys):
    wrong_private, _ = rsa_key_pair()
    bad = write_config(tmp_path, platform, wrong_private)

    result = run_cli(out, "--config", bad, "--users", _users_csv(tmp_path, USERS))

    assert result.returncode == 1, result.stderr
    assert f"stopped: the platform refused an access token at {platform.token_url}: HTTP 401: invalid_client" \
        in result.stdout
    assert "not sent, will be sent by the next run: ada, ben, cara, dan" in result.stdout
    assert platform.state.stored() == {} and not platform.state.score_requests
    assert ledger_rows(out) == []

    good = write_config(tmp_path, platform, tool_keys[0])
    assert kinds(publish(out, good)) == {name: "posted" for name in CLASS}


def test_an_unknown_key_id_is_named_in_the_refusal(tmp_path, out, platform, tool_keys):
    config_file = write_config(tmp_path, platform, tool_keys[0], key_id="not-registered")
    summary = publish(out, config_file)
    assert "HTTP 401: invalid_client: Unable to find public key" in summary.stopped
    assert not summary.ok and set(kinds(summary).values()) == {"not_sent"}


def test_the_audience_setting_is_the_aud_of_the_assertion(tmp_path, out, platform, tool_keys):
    config_file = write_config(tmp_path, platform, tool_keys[0], audience="https://lms.example.edu/oauth2/token")
    summary = publish(out, config_file)
    assert summary.stopped.endswith("HTTP 401: invalid_client: Audience doesn't match")
    claims = jwt.decode(platform.state.token_forms[0]["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == "https://lms.example.edu/oauth2/token"


def test_server_errors_are_retried_with_a_growing_wait(out, platform, config_file):
    platform.state.score_faults.extend([500, 503])
    waits = []
    client = AgsClient(load_lti_config(config_file), sleep=waits.append)

    summary = publish(out, config_file, client=client)

    assert summary.ok and kinds(summary)["ada"] == "posted"
    assert waits == [0.01, 0.02]
    assert len(platform.state.score_requests) == len(CLASS) + 2
    assert all(len(history) == 1 for history in platform.state.stored().values())


def test_a_score_stored_but_whose_answer_was_lost_is_not_refused_on_retry(out, platform, config_file):
    platform.state.lost_answers.append(504)
    summary = publish(out, config_file)
    assert summary.ok and set(kinds(summary).values()) == {"posted"}
    first, retried = platform.state.stored()["lti-501"]  # ada's first try was stored; the retry is a newer update
    assert first["scoreGiven"] == retried["scoreGiven"] and retried["timestamp"] > first["timestamp"]
    [row] = [row for row in ledger_rows(out) if row["student"] == "ada"]
    assert row["timestamp"] == retried["timestamp"] and row["http_status"] == 200


def test_a_platform_that_always_fails_is_reported_and_nothing_is_lost(out, platform, config_file):
    platform.state.always_fail_scores = 500

    failing = run_cli(out, "--config", config_file)

    assert failing.returncode == 1
    for student in ("ada", "ben", "cara"):
        assert f"FAILED      {student} -> {student}: HTTP 500: Internal Server Error (after 3 tries)" in failing.stdout
    assert "stopped: the platform failed for 3 students in a row; the others were not sent" in failing.stdout
    assert "not sent, will be sent by the next run: dan" in failing.stdout
    assert len(platform.state.score_requests) == 9  # three students, three tries each
    assert [row["outcome"] for row in ledger_rows(out)] == ["failed"] * 3

    platform.state.always_fail_scores = 0
    platform.state.roster = None
    recovered = run_cli(out, "--config", config_file)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "4 posted, 0 updated, 0 unchanged (skipped), 0 refused, 0 failed" in recovered.stdout
    assert all(len(history) == 1 for history in platform.state.stored().values())


def test_an_unreachable_platform_is_retried_then_reported(tmp_path, out, platform, tool_keys):
    port = free_port()
    config_file = write_config(tmp_path, platform, tool_keys[0], token_url=f"http://127.0.0.1:{port}/token",
                               lineitem=f"http://127.0.0.1:{port}/lineitems/7")
    summary = publish(out, config_file)
    assert not summary.ok and set(kinds(summary).values()) == {"not_sent"}
    assert summary.stopped == (f"could not get an access token from http://127.0.0.1:{port}/token after 3 tries: "
                               f"could not reach http://127.0.0.1:{port}/token (ConnectionError)")
    assert ledger_rows(out) == []


def test_a_token_endpoint_that_fails_once_is_retried(out, platform, config_file):
    platform.state.token_faults.append(502)
    assert publish(out, config_file).ok
    assert platform.state.token_requests == 2 and platform.state.tokens_issued == 1


def test_an_expired_token_is_renewed_once(out, platform, config_file):
    platform.state.token_lifetimes.append(-60)  # the first token is already expired when used
    summary = publish(out, config_file)
    assert summary.ok and set(kinds(summary).values()) == {"posted"}
    assert platform.state.tokens_issued == 2
    assert len(platform.state.score_requests) == len(CLASS) + 1


def test_a_token_refused_even_when_fresh_is_reported_per_student(out, platform, config_file):
    platform.state.token_lifetimes.extend([-60] * 20)
    summary = publish(out, config_file)
    refused = summary.of("refused")
    assert [outcome.student for outcome in refused] == sorted(CLASS)
    assert all(outcome.detail == "HTTP 401: invalid_token: Signature has expired" for outcome in refused)
    assert len(platform.state.score_requests) == 2 * len(CLASS)  # one renewal per student, no more
    assert [row["outcome"] for row in ledger_rows(out)] == ["refused"] * len(CLASS)


def test_refusals_carry_the_platform_answer_and_are_sent_again_later(out, platform, config_file):
    platform.state.roster = {"lti-501", "lti-503", "lti-504"}
    summary = publish(out, config_file)
    [refused] = summary.of("refused")
    assert refused.student == "ben"
    assert refused.detail == "HTTP 400: user lti-502 is not a gradable member of this course"
    [row] = [row for row in ledger_rows(out) if row["student"] == "ben"]
    assert (row["outcome"], row["http_status"]) == ("refused", 400)

    platform.state.roster.add("lti-502")
    assert kinds(publish(out, config_file)) == {"ada": "unchanged", "ben": "posted", "cara": "unchanged",
                                                "dan": "unchanged"}


def test_an_unknown_line_item_is_refused(tmp_path, out, platform, tool_keys):
    config_file = write_config(tmp_path, platform, tool_keys[0], lineitem=platform.lineitem_url("99"))
    summary = publish(out, config_file)
    assert {outcome.detail for outcome in summary.of("refused")} == {"HTTP 404: Not found"}


def test_the_token_request_follows_the_ims_security_framework(out, platform, config_file):
    publish(out, config_file)

    [form] = platform.state.token_forms
    assert form["grant_type"] == "client_credentials" and form["scope"] == SCORE_SCOPE
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == CLIENT_ID and claims["aud"] == platform.token_url
    assert jwt.get_unverified_header(form["client_assertion"]) == {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 600


def test_a_token_without_the_score_scope_stops_publishing(out, platform, config_file):
    platform.state.granted_scope = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
    summary = publish(out, config_file)
    assert summary.stopped == ("the platform did not grant the score scope "
                               "(granted: https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly)")
    assert not platform.state.score_requests and set(kinds(summary).values()) == {"not_sent"}


# --- users, unreadable results, bad configuration --------------------------------------------------

def _users_csv(folder, users, name="users.csv"):
    path = folder / name
    path.write_text("student,user_id\n" + "".join(f"{student},{user}\n" for student, user in users.items()))
    return path


def test_students_missing_from_the_users_file_are_reported(tmp_path, out, platform, config_file):
    users = _users_csv(tmp_path, {"ada": "lti-501", "ben": "lti-502"})
    result = run_cli(out, "--config", config_file, "--users", users)
    assert result.returncode == 0, result.stderr
    assert f"UNKNOWN     cara: not in {users}" in result.stdout
    assert f"unknown users (not in {users}), not sent: cara, dan" in result.stdout
    assert "posted      ben -> lti-502: " in result.stdout
    assert sorted(platform.state.stored()) == ["lti-501", "lti-502"]


def test_unreadable_results_are_named_and_the_rest_published(out, platform, config_file):
    (out / "results" / "eve.json").write_text("{not json")
    (out / "results" / "fay.json").write_text(json.dumps({"student": "someone-else", "score": 1, "max_score": 2,
                                                          "exercises": {}}))
    summary = publish(out, config_file)
    assert not summary.ok
    details = {outcome.student: outcome.detail for outcome in summary.of("unreadable")}
    assert details["eve"].startswith(f"{out / 'results' / 'eve.json'}: not valid JSON")
    assert details["fay"] == f"{out / 'results' / 'fay.json'}: it names the student 'someone-else', but the file is fay.json"
    assert len(summary.of("posted")) == len(CLASS)


def test_an_out_folder_without_results_is_an_error(tmp_path, config_file):
    with pytest.raises(ResultsMissing, match="is not a folder"):
        publish(tmp_path / "empty", config_file)
    result = run_cli(tmp_path / "empty", "--config", config_file)
    assert result.returncode == 2 and "results is not a folder" in result.stderr


def test_a_damaged_ledger_is_named(out, config_file):
    (out / LEDGER_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match=LEDGER_NAME):
        publish(out, config_file)


@pytest.mark.parametrize("changes, message", [
    ({"client_id": None}, "[lti] lacks client_id"),
    ({"colour": "blue"}, "unknown setting(s) in [lti]: colour"),
    ({"token_url": "ftp://lms.example/token"}, "[lti] token_url: must be an http(s) URL, got 'ftp://lms.example/token'"),
    ({"lineitem": "http://lms.example/lineitems/7"}, "[lti] lineitem: must use https (plain http is allowed only on "
                                                     "this machine)"),
    ({"key_id": ""}, "[lti] key_id: must be a non-empty string, got ''"),
    ({"max_attempts": "3"}, "[lti] max_attempts: must be a number between 1 and 10, got '3'"),
    ({"max_attempts": 40}, "[lti] max_attempts: must be a number between 1 and 10, got 40"),
    ({"private_key_file": "missing.pem"}, "[lti] private_key_file: {folder}/missing.pem cannot be read"),
    ({"private_key_file": "lti.toml"}, "[lti] private_key_file: {folder}/lti.toml is not a PEM private key"),
])
def test_a_malformed_config_names_the_file_and_the_key(tmp_path, platform, tool_keys, changes, message):
    path = write_config(tmp_path, platform, tool_keys[0], **changes)
    with pytest.raises(ConfigError) as raised:
        load_lti_config(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message.format(folder=tmp_path) in str(raised.value)


def test_a_config_without_an_lti_table_or_valid_toml(tmp_path, out):
    (tmp_path / "course.toml").write_text("[grader]\ntimeout = 5\n")
    (tmp_path / "broken.toml").write_text("[lti\n")
    with pytest.raises(ConfigError, match=r"course.toml: has no \[lti\] table"):
        load_lti_config(tmp_path / "course.toml")
    result = run_cli(out, "--config", tmp_path / "broken.toml")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'broken.toml'}: not valid TOML")


@pytest.mark.parametrize("text, message", [
    ("student,lti\nada,1\n", "the header must name the columns student, user_id; missing user_id"),
    ("student,user_id\nada,\n", "users.csv, line 2: both student and user_id are needed"),
    ("student,user_id\nada,1\nben,1\n", "users.csv, line 3: user id 1 is given to both ada and ben"),
    ("student,user_id\nada,1\nada,2\n", "users.csv, line 3: student ada is listed twice with different user ids"),
])
def test_a_malformed_users_file_names_the_line(tmp_path, text, message):
    (tmp_path / "users.csv").write_text(text)
    with pytest.raises(ConfigError, match="^" + str(tmp_path).replace("\\", "\\\\")) as raised:
        read_users(tmp_path / "users.csv")
    assert message in str(raised.value)


def test_a_users_file_from_a_spreadsheet(tmp_path):
    (tmp_path / "users.csv").write_bytes("\ufeffstudent, user_id\r\n ada ,lti-501\r\n\r\nben,lti-502\r\n".encode())
    assert read_users(tmp_path / "users.csv") == {"ada": "lti-501", "ben": "lti-502"}


def test_the_ledger_is_plain_sqlite(out, platform, config_file):
    publish(out, config_file)
    with sqlite3.connect(out / LEDGER_NAME) as connection:
        [(count,)] = connection.execute("SELECT count(*) FROM published WHERE outcome = 'posted'").fetchall()
    assert count == len(CLASS)
