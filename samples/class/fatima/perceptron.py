"""Exercise 2: the perceptron (感知器) and the logic gates it can compute.

A perceptron weighs its inputs (权重, weights w), adds a bias (偏置, b) and
passes the sum through the step activation. With well-chosen w and b a single
perceptron computes AND, OR or NAND; with the perceptron learning rule it finds
such weights by itself from examples.
"""
import torch

from step import step


def perceptron(x, w, b):
    """Return step(x @ w + b): the perceptron's output (感知器的输出).

    Shapes: x is (n,) for one input, giving a 0-d result, or (m, n) for a batch
    of m inputs, giving (m,). w is (n,) and b is a number.

    Worked example, the AND gate (与门) with w = (0.5, 0.5), b = -0.8:
      x = (1, 1): 0.5 + 0.5 - 0.8 = 0.2 > 0, so the output is 1;
      x = (1, 0): 0.5 - 0.8 = -0.3 <= 0, so the output is 0.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    w = torch.as_tensor(w, dtype=torch.float64)
    return step(x @ w + b)


# Each gate is a pair (w, b): w holds two numbers and b is a number, such that
# perceptron(x, w, b) gives the gate's truth table (真值表) on the inputs
# (0, 0), (0, 1), (1, 0) and (1, 1). Any pair that works is accepted.
#   AND (与门):   1 only for (1, 1)
#   OR (或门):    0 only for (0, 0)
#   NAND (与非门): 0 only for (1, 1)
AND_PARAMS = ((0.5, 0.5), -0.8)
OR_PARAMS = ((0.5, 0.5), -0.2)
NAND_PARAMS = ((-0.5, -0.5), 0.8)


def train_perceptron(X, y, lr=0.1, epochs=10):
    """Learn (w, b) with the perceptron learning rule (感知器学习规则).

    Start from w = zeros(n) (the dtype of X) and b = 0.0. Then, for each epoch
    (轮次), for each row i of X in order:

        out = step(X[i] @ w + b)
        err = y[i] - out
        w = w + lr * err * X[i]
        b = b + lr * err

    Return (w, b): w of shape (n,), b a number or a 0-d tensor.

    Worked example: for the AND data the first row is x = (0, 0) with y = 0;
    the output step(0) = 0 is right, err = 0, so nothing changes. The first
    change happens on x = (1, 1), y = 1: out = 0, err = 1, so w becomes
    (0.1, 0.1) and b becomes 0.1 (with lr = 0.1).
    """
    X = torch.as_tensor(X)
    if not X.is_floating_point():
        X = X.to(torch.get_default_dtype())
    y = torch.as_tensor(y, dtype=X.dtype)
    w = torch.zeros(X.shape[1], dtype=X.dtype)
    b = 0.0
    for _ in range(epochs):
        for i in range(X.shape[0]):
            out = step(X[i] @ w + b)
            err = y[i] - out
            w = w + lr * err * X[i]
            b = b + lr * err
    return w, b
