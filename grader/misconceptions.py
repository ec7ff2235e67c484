"""The catalogue of known mistakes, per exercise: a name, and a hint that points at the
idea without giving the answer.

Checks refer to these ids; each wrong variant is computed in the grader's own process
on the same inputs (grader/checks/*), or recognised from the kind of mismatch. When a
failed check's result matches one, the feedback names it, and reports count them.
"""
from dataclasses import dataclass

from grader.i18n import N_


@dataclass(frozen=True)
class Misconception:
    id: str
    name: str
    hint: str

    @property
    def exercise(self) -> str:
        return self.id.split(".", 1)[0]


CATALOGUE = {m.id: m for m in (
    # step.py
    Misconception("step.true_at_zero", N_("step fires at z == 0"),
                  N_("At z == 0 the step is 0: only strictly positive inputs fire.")),
    Misconception("step.bool_or_int_dtype", N_("step returns a bool or integer tensor"),
                  N_("A comparison such as z > 0 gives a bool tensor; the step must hand back floating-point "
                  "1.0 and 0.0 in the input's dtype.")),
    # perceptron.py
    Misconception("perceptron.other_gate", N_("the gate's weights realise another gate"),
                  N_("Work through the four inputs one by one: which of them should make x @ w + b positive?")),
    Misconception("perceptron.b_without_lr", N_("the bias is updated without the learning rate"),
                  N_("The bias learns like a weight whose input is always 1: its update is lr * err too.")),
    Misconception("perceptron.not_from_zeros", N_("training does not start from zeros"),
                  N_("The rule starts from w = zeros(n) and b = 0.0; any other start gives another trajectory.")),
    Misconception("perceptron.batch_update", N_("the whole batch is updated at once"),
                  N_("The perceptron rule goes row by row: each row's update changes w and b before the next row is seen.")),
    # sigmoid.py
    Misconception("sigmoid.sign_error", N_("sign error in the exponential"),
                  N_("Check the sign inside the exponential: sigmoid(x) grows with x, and sigmoid(2) is about 0.88.")),
    Misconception("sigmoid.exp_ratio_overflow", N_("exp(x) / (1 + exp(x)) overflows"),
                  N_("For large |x| an exponential overflows to inf, and inf / inf is NaN. Rewrite the formula, depending "
                  "on the sign of x, so that you only ever take exp of a number <= 0.")),
    Misconception("sigmoid.overflow_warning", N_("an exponential overflows with a warning"),
                  N_("An exponential of a large number overflows (NumPy warns about it). Only take exp of numbers <= 0, "
                  "choosing the form of the formula by the sign of x.")),
    Misconception("sigmoid.grad_of_x", N_("sigmoid_grad applied to x instead of s(x)"),
                  N_("The derivative is s * (1 - s) where s is sigmoid(x), not x itself.")),
    Misconception("sigmoid.neuron_without_bias", N_("the neuron leaves out its bias"),
                  N_("The neuron adds its bias b before the activation: sigmoid(x @ w + b).")),
    # chain_rule.py
    Misconception("chain_rule.one_path_for_b", N_("de/db misses one of its two paths"),
                  N_("b reaches e along two paths (through c and through d): de/db is the sum of both products.")),
    Misconception("chain_rule.local_grads_swapped", N_("the local gradients of the product are swapped"),
                  N_("For e = c * d, the derivative along the edge from c is the other factor, d (and from d it is c).")),
    Misconception("chain_rule.no_topological_order", N_("backward visits nodes without a topological order"),
                  N_("A node must pass its gradient back only after every node that uses it has passed theirs: visit "
                  "the nodes in reverse topological order, each once.")),
    Misconception("chain_rule.product_rule_own_data", N_("the product rule uses a node's own data"),
                  N_("For out = x * y, x's local derivative is y (the other factor), and y's is x.")),
    Misconception("chain_rule.wrong_power_rule", N_("the power rule keeps the exponent"),
                  N_("d(x ** k)/dx = k * x ** (k - 1): the exponent goes down by one.")),
    # mlp.py
    Misconception("mlp.output_sigmoid", N_("a sigmoid on the output layer"),
                  N_("The last layer is linear: no sigmoid after it.")),
    Misconception("mlp.missing_sigmoid_derivative", N_("the sigmoid's derivative is left out"),
                  N_("Going back through a sigmoid multiplies by its derivative a * (1 - a).")),
    Misconception("mlp.sum_not_mean", N_("a sum instead of the mean"),
                  N_("The loss is a mean over all elements: divide by their number, in the loss and in its gradient.")),
    Misconception("mlp.missing_factor_2", N_("the factor 2 of the squared error is missing"),
                  N_("The derivative of (out - y) ** 2 is 2 * (out - y): keep the factor 2.")),
    Misconception("mlp.db_not_summed", N_("db is not summed over the batch"),
                  N_("db must have the shape of b: sum the gradient over the batch rows.")),
    Misconception("mlp.dw_transposed", N_("dW is transposed"),
                  N_("dW must have the shape of W, (inputs, outputs): for z = h @ W + b, dW = h.T @ dz.")),
    Misconception("mlp.loss_after_update", N_("the loss is recorded after the update"),
                  N_("Record each epoch's loss before the update, at the params the gradients were computed at.")),
    # torch_mlp.py
    Misconception("torch_mlp.sigmoid_after_last_layer", N_("a sigmoid after the last nn.Linear"),
                  N_("No sigmoid after the last layer: the output layer is linear.")),
    Misconception("torch_mlp.gradients_never_zeroed", N_("the gradients are never zeroed"),
                  N_("Zero the gradients at the start of every epoch, or they pile up from epoch to epoch.")),
    Misconception("torch_mlp.loss_after_step", N_("the loss is recorded after the optimizer step"),
                  N_("Record loss.item() before the optimizer step: it is the loss of the params the gradient was taken at.")),
)}


def misconception(misconception_id: str) -> Misconception:
    return CATALOGUE[misconception_id]
