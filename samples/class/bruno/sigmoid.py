import math

import torch


def _one_sigmoid(v):
    # only ever exp of a number <= 0
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(x):
    x = torch.as_tensor(x)
    values = [_one_sigmoid(v) for v in x.reshape(-1).tolist()]
    return torch.tensor(values, dtype=x.dtype).reshape(x.shape)


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def neuron(x, w, b):
    x = torch.as_tensor(x, dtype=torch.float64)
    w = torch.as_tensor(w, dtype=torch.float64)
    if x.dim() == 1:
        z = float(b)
        for i in range(len(w)):
            z += float(x[i]) * float(w[i])
        return sigmoid(torch.tensor(z, dtype=torch.float64))
    zs = []
    for row in x:
        z = float(b)
        for i in range(len(w)):
            z += float(row[i]) * float(w[i])
        zs.append(z)
    return sigmoid(torch.tensor(zs, dtype=torch.float64))
