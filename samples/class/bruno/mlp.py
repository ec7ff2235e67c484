import torch

from sigmoid import sigmoid


def mlp_forward(x, params):
    h = x
    n_layers = len(params)
    for i in range(n_layers):
        W, b = params[i]
        z = torch.matmul(h, W) + b
        if i == n_layers - 1:
            h = z
        else:
            h = sigmoid(z)
    return h


def mse_loss(out, y):
    diff = out - y
    total = 0.0
    count = 0
    for v in diff.reshape(-1).tolist():
        total += v * v
        count += 1
    return total / count


def mlp_backward(x, y, params):
    inputs = []
    outputs = []
    h = x
    n_layers = len(params)
    for i in range(n_layers):
        W, b = params[i]
        inputs.append(h)
        z = torch.matmul(h, W) + b
        h = z if i == n_layers - 1 else sigmoid(z)
        outputs.append(h)
    out = h
    loss = mse_loss(out, y)
    grad_out = 2.0 * (out - y) / out.numel()
    grads = [None] * n_layers
    for i in reversed(range(n_layers)):
        W, b = params[i]
        if i == n_layers - 1:
            dz = grad_out
        else:
            a = outputs[i]
            dz = grad_out * a * (1 - a)
        dW = torch.matmul(inputs[i].T, dz)
        db = torch.sum(dz, dim=0)
        grads[i] = (dW, db)
        grad_out = torch.matmul(dz, W.T)
    return loss, grads


def train(x, y, params, lr, epochs):
    current = list(params)
    losses = []
    for epoch in range(epochs):
        loss, grads = mlp_backward(x, y, current)
        losses.append(float(loss))
        new_params = []
        for i in range(len(current)):
            W, b = current[i]
            dW, db = grads[i]
            new_params.append((W - lr * dW, b - lr * db))
        current = new_params
    return current, losses
