"""Every known mistake of the catalogue is recognised on a submission that makes it,
and no correct submission ever triggers one."""
import pytest

from conftest import FIXTURES, REPO
from grader.config import SOLUTIONS_DIR
from grader.grading import grade_submission
from grader.misconceptions import CATALOGUE

MORE = REPO / "tests" / "fixtures" / "misconceptions"

# misconception id -> (fixture folder, exercise, the check whose feedback names it)
RECOGNISED_ON = {
    "step.true_at_zero": (FIXTURES / "step_at_zero", "step", "step.scalar"),
    "step.bool_or_int_dtype": (FIXTURES / "step_bool_dtype", "step", "step.tensor"),
    "perceptron.other_gate": (FIXTURES / "gate_or_for_and", "perceptron", "perceptron.and_gate"),
    "perceptron.b_without_lr": (FIXTURES / "perceptron_b_without_lr", "perceptron", "perceptron.train"),
    "perceptron.not_from_zeros": (MORE / "perceptron_not_from_zeros", "perceptron", "perceptron.train"),
    "perceptron.batch_update": (MORE / "perceptron_batch_update", "perceptron", "perceptron.train"),
    "sigmoid.sign_error": (FIXTURES / "sigmoid_sign_error", "sigmoid", "sigmoid.values"),
    "sigmoid.exp_ratio_overflow": (FIXTURES / "sigmoid_overflow", "sigmoid", "sigmoid.extremes"),
    "sigmoid.overflow_warning": (MORE / "sigmoid_numpy_overflow", "sigmoid", "sigmoid.extremes"),
    "sigmoid.grad_of_x": (FIXTURES / "sigmoid_grad_of_x", "sigmoid", "sigmoid.grad"),
    "sigmoid.neuron_without_bias": (FIXTURES / "neuron_no_bias", "sigmoid", "sigmoid.neuron"),
    "chain_rule.one_path_for_b": (FIXTURES / "backward_missing_path", "chain_rule", "chain_rule.backward"),
    "chain_rule.local_grads_swapped": (FIXTURES / "local_grads_swapped", "chain_rule", "chain_rule.local_grads"),
    "chain_rule.no_topological_order": (MORE / "value_no_topological_order", "chain_rule", "chain_rule.value_backward"),
    "chain_rule.product_rule_own_data": (MORE / "value_product_own_data", "chain_rule", "chain_rule.value_backward"),
    "chain_rule.wrong_power_rule": (MORE / "value_wrong_power_rule", "chain_rule", "chain_rule.value_backward"),
    "mlp.output_sigmoid": (FIXTURES / "mlp_output_sigmoid", "mlp", "mlp.forward"),
    "mlp.missing_sigmoid_derivative": (FIXTURES / "mlp_missing_sigmoid_derivative", "mlp", "mlp.backward"),
    "mlp.sum_not_mean": (FIXTURES / "mlp_sum_not_mean", "mlp", "mlp.mse_loss"),
    "mlp.missing_factor_2": (MORE / "mlp_missing_factor_2", "mlp", "mlp.backward"),
    "mlp.db_not_summed": (MORE / "mlp_db_not_summed", "mlp", "mlp.backward"),
    "mlp.dw_transposed": (MORE / "mlp_dw_transposed", "mlp", "mlp.backward"),
    "mlp.loss_after_update": (FIXTURES / "train_loss_after_update", "mlp", "mlp.train"),
    "torch_mlp.sigmoid_after_last_layer": (MORE / "torch_mlp_sigmoid_after_last", "torch_mlp", "torch_mlp.forward"),
    "torch_mlp.gradients_never_zeroed": (FIXTURES / "fit_no_zero_grad", "torch_mlp", "torch_mlp.fit"),
    "torch_mlp.loss_after_step": (MORE / "torch_mlp_loss_after_step", "torch_mlp", "torch_mlp.fit"),
}


def test_the_catalogue_has_at_least_20_entries_each_with_a_fixture():
    assert len(CATALOGUE) >= 20
    assert set(RECOGNISED_ON) == set(CATALOGUE)
    for misconception in CATALOGUE.values():
        assert misconception.name and misconception.hint and misconception.exercise in misconception.id


@pytest.mark.parametrize("misconception_id", sorted(RECOGNISED_ON))
def test_the_mistake_is_recognised_and_named(zygote, misconception_id):
    folder, exercise, check_id = RECOGNISED_ON[misconception_id]
    result = grade_submission(folder, exercise_ids=[exercise], zygote=zygote)
    check = next(check for check in result.checks if check.check_id == check_id)
    assert check.status == "failed", check
    assert check.misconception == misconception_id, check
    assert check.hint == CATALOGUE[misconception_id].hint
    others = {c.misconception for c in result.checks if c.misconception} - {misconception_id}
    assert others <= set(CATALOGUE)


@pytest.mark.parametrize("folder", [SOLUTIONS_DIR, FIXTURES / "correct_loops", FIXTURES / "correct_numpy_style",
                                    FIXTURES / "correct_exercises_folder"], ids=lambda path: path.name)
def test_a_correct_submission_never_triggers_a_misconception(zygote, folder):
    for seed in (1, 2, 3):
        result = grade_submission(folder, visibilities=("public", "hidden"), hidden_seed=seed, zygote=zygote)
        graded = [check for check in result.checks if check.status != "missing"]
        assert graded and all(check.status == "passed" for check in graded), [
            (check.check_id, check.message) for check in graded if check.status != "passed"]
        assert not [check.misconception for check in result.checks if check.misconception]


def _as_received(expected):
    """The right answer, in the form a correct submission would send it back."""
    from grader.compare import Map, Number, ReceivedArray, ReceivedNumber, Seq, Tensor

    if isinstance(expected, Tensor):
        return ReceivedArray(expected.values, expected.dtype or "float64", "tensor")
    if isinstance(expected, Number):
        return ReceivedNumber(float(expected.value), "float")
    if isinstance(expected, Seq):
        return [_as_received(item) for item in expected.items]
    if isinstance(expected, Map):
        return {key: _as_received(item) for key, item in expected.items.items()}
    return None


@pytest.mark.parametrize("hidden_seed", [7, 8])
def test_every_variant_is_told_apart_from_the_right_answer(hidden_seed):
    """Within each check, each wrong variant differs from the right answer on some probe, so the
    check fails a submission that makes the mistake; and variants are only tried on a failure,
    so a right answer is never named a mistake."""
    from grader.compare import compare
    from grader.grading import build_probes
    from grader.registry import ALL_CHECKS

    told_apart = {}
    for check_id, probes in build_probes(list(ALL_CHECKS), hidden_seed=hidden_seed).items():
        for probe in probes:
            right = _as_received(probe.expected) if not callable(probe.expected) else None
            for variant in probe.variants:
                assert variant.misconception in CATALOGUE
                wrong = variant.expectation()
                if right is None or callable(wrong):
                    continue
                key = (check_id, variant.misconception)
                told_apart[key] = told_apart.get(key, False) or compare(wrong, right) is not None
    assert len(told_apart) > 20
    assert [key for key, apart in told_apart.items() if not apart] == []
