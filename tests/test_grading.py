"""End to end through the library: references, stubs, registry invariants, hidden seeds."""
import re

import pytest

from grader import registry
from grader.config import EXERCISES_DIR, SOLUTIONS_DIR
from grader.grading import build_probes, grade_submission

BOTH = ("public", "hidden")


def test_registry_totals_100_points_with_public_and_hidden_checks():
    assert sum(exercise.points for exercise in registry.EXERCISES) == 100
    ids = [check.id for check in registry.ALL_CHECKS]
    assert len(ids) == len(set(ids))
    for exercise in registry.EXERCISES:
        kinds = {check.visibility for check in exercise.checks}
        assert kinds == {"public", "hidden"}, exercise.id
        assert all(check.id.startswith(exercise.id + ".") for check in exercise.checks)


@pytest.mark.parametrize("hidden_seed", [1, 987654321])
def test_reference_solutions_score_100_on_public_and_hidden_checks(zygote, hidden_seed):
    result = grade_submission(SOLUTIONS_DIR, visibilities=BOTH, hidden_seed=hidden_seed, zygote=zygote)
    failures = [(check.check_id, check.status, check.message) for check in result.checks if check.status != "passed"]
    assert failures == []
    assert result.score == result.max_score == 100


def test_stubs_score_zero_and_say_not_attempted(zygote):
    result = grade_submission(EXERCISES_DIR, visibilities=BOTH, hidden_seed=3, zygote=zygote)
    assert result.score == 0 and result.max_score == 100
    for check in result.checks:
        assert check.status == "failed" and check.not_attempted, check
        assert check.message.startswith("not attempted"), check.message


def test_results_json_follows_the_contract(zygote):
    result = grade_submission(SOLUTIONS_DIR, student="alice", exercise_ids=["step"], zygote=zygote).to_json()
    assert result["student"] == "alice"
    assert set(result["exercises"]) == {"step"}
    step = result["exercises"]["step"]
    assert step["score"] == sum(check["score"] for check in step["checks"])
    for check in step["checks"]:
        assert {"id", "status", "score", "max_score", "message"} <= set(check)


def _hidden_inputs(seed):
    checks = [check for check in registry.ALL_CHECKS if check.visibility == "hidden"]
    return {check_id: [probe.call for probe in probes] for check_id, probes in build_probes(checks, hidden_seed=seed).items()}


def test_hidden_inputs_are_fixed_per_student_seed_and_differ_between_students():
    assert _hidden_inputs(11) == _hidden_inputs(11)
    first, second = _hidden_inputs(11), _hidden_inputs(12)
    assert all(first[key] != second[key] for key in first)


def test_public_inputs_do_not_depend_on_the_hidden_seed():
    checks = [check for check in registry.ALL_CHECKS if check.visibility == "public"]
    a = build_probes(checks, hidden_seed=1)
    b = build_probes(checks, hidden_seed=2)
    assert {k: [p.call for p in v] for k, v in a.items()} == {k: [p.call for p in v] for k, v in b.items()}


def test_hidden_feedback_never_shows_inputs_or_expected_values(zygote, make_submission):
    folder = make_submission({"sigmoid.py": """
        import torch
        def sigmoid(x):
            return 1 / (1 + torch.exp(torch.as_tensor(x)))
        def sigmoid_grad(x):
            return x * (1 - x)
        def neuron(x, w, b):
            return sigmoid(x @ w)
    """})
    result = grade_submission(folder, exercise_ids=["sigmoid"], visibilities=BOTH, hidden_seed=5, zygote=zygote)
    hidden = [check for check in result.checks if check.visibility == "hidden"]
    assert hidden and all(check.status == "failed" for check in hidden)
    probes = build_probes([c for c in registry.exercise("sigmoid").checks if c.visibility == "hidden"], hidden_seed=5)
    for check in hidden:
        assert "wrong on hidden inputs" in check.message
        assert not re.search(r"\d\.\d{3}", check.message), check.message  # no printed numbers
        for probe in probes[check.check_id]:
            if "tensor(" in probe.shows:  # a call shown with its values, as a public check would
                assert probe.shows not in check.message
