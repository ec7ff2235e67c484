"""Exercise 3: the sigmoid neuron (S 型神经元).

The step activation jumps from 0 to 1, so a tiny change of a weight either
changes nothing or flips the output: useless for learning by small steps. The
sigmoid function (S 型函数, logistic function) is a smooth step. Its
derivative exists everywhere, which is what gradient descent (梯度下降) needs.

Writing the sigmoid is the exercise: a library sigmoid (torch.sigmoid,
Tensor.sigmoid, torch.special.expit, torch.nn.functional.sigmoid,
torch.nn.Sigmoid, scipy.special.expit, ...) is not allowed in this file.
"""
import torch


def sigmoid(x):
    """Return 1 / (1 + exp(-x)) elementwise (S 型函数), same shape and dtype as x.

    Worked example: sigmoid(0) = 1 / (1 + 1) = 0.5; sigmoid(2) ~ 0.8808 and
    sigmoid(-2) = 1 - sigmoid(2) ~ 0.1192.

    It must stay finite and within [0, 1] for every finite input up to
    |x| = 1e4, in float32 and float64: no NaN, no inf, no overflow warning.
    Think about what exp(-x) does for x = -1e4, and which algebraically equal
    form of the formula avoids a huge intermediate value.
    """
    x = torch.as_tensor(x)
    small = torch.exp(-torch.abs(x))  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1 / (1 + small), small / (1 + small))


def sigmoid_grad(x):
    """Return the derivative of the sigmoid at x (导数): s(x) * (1 - s(x)).

    Here s(x) is sigmoid(x), so the derivative needs no new exponentials.
    Same shape and dtype as x.

    Worked example: at x = 0, s = 0.5, so the derivative is 0.5 * 0.5 = 0.25,
    its largest value. Far from 0 it tends to 0 (the curve is flat there).
    """
    s = sigmoid(x)
    return s * (1 - s)


def neuron(x, w, b):
    """Return sigmoid(x @ w + b): one sigmoid neuron (神经元).

    Shapes as for the perceptron: x (n,) gives a 0-d result, x (m, n) gives
    (m,); w is (n,), b is a number. Use this file's own sigmoid.

    Worked example: with the AND weights w = (0.5, 0.5), b = -0.8 and
    x = (1, 1), z = 0.2 and the neuron outputs sigmoid(0.2) ~ 0.5498: a soft
    "yes" where the perceptron said a hard 1.
    """
    return sigmoid(torch.as_tensor(x) @ torch.as_tensor(w) + b)
