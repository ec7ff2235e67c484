import torch

from step import step


def weighted_sum(row, w, b):
    total = float(b)
    for i in range(len(w)):
        total = total + float(row[i]) * float(w[i])
    return total


def perceptron(x, w, b):
    x = torch.as_tensor(x, dtype=torch.float64)
    w = torch.as_tensor(w, dtype=torch.float64)
    if x.dim() == 1:
        return torch.tensor(float(step(weighted_sum(x, w, b))), dtype=torch.float64)
    outputs = []
    for row in x:
        outputs.append(float(step(weighted_sum(row, w, b))))
    return torch.tensor(outputs, dtype=torch.float64)


AND_PARAMS = ([1.0, 1.0], -1.5)
OR_PARAMS = ([1.0, 1.0], -0.5)
NAND_PARAMS = ([-1.0, -1.0], 1.5)


def train_perceptron(X, y, lr=0.1, epochs=10):
    X = torch.as_tensor(X)
    if not X.is_floating_point():
        X = X.double()
    n_rows, n_cols = X.shape
    w = torch.zeros(n_cols, dtype=X.dtype)
    b = 0.0
    for epoch in range(epochs):
        for i in range(n_rows):
            out = step(weighted_sum(X[i], w, b))
            err = float(y[i]) - out
            for j in range(n_cols):
                w[j] = w[j] + lr * err * X[i, j]
            b = b + lr * err
    return w, b
