import torch

from sigmoid import sigmoid


def mlp_forward(x, params):
    h = x
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = sigmoid(h)
    return h


def mse_loss(out, y):
    return ((out - y) ** 2).sum()


def mlp_backward(x, y, params):
    hs = [x]
    for i, (W, b) in enumerate(params):
        z = hs[-1] @ W + b
        hs.append(sigmoid(z) if i < len(params) - 1 else z)
    out = hs[-1]
    loss = mse_loss(out, y)
    delta = 2 * (out - y)
    grads = []
    for i in reversed(range(len(params))):
        W, b = params[i]
        if i < len(params) - 1:
            delta = delta * hs[i + 1] * (1 - hs[i + 1])
        grads.append((hs[i].T @ delta, delta.sum(dim=0)))
        delta = delta @ W.T
    grads.reverse()
    return loss, grads


def train(x, y, params, lr, epochs):
    losses = []
    for _ in range(epochs):
        loss, grads = mlp_backward(x, y, params)
        losses.append(float(loss))
        params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return params, losses
