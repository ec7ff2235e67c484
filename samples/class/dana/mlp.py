"""Exercise 5: a fully connected network (全连接神经网络), forward and backward by hand.

A layer multiplies its input by a weight matrix (权重矩阵) W, adds a bias
vector (偏置) b and applies the sigmoid. Stacking layers gives a multilayer
perceptron (多层感知器, MLP). Here the last layer has no activation, and the
network learns by gradient descent on the mean squared error (均方误差).

Back-propagation must be written by hand with tensor operations: autograd
(`.backward()`, `torch.autograd`, `requires_grad`, `torch.func`) is not allowed
in mlp_backward and train. Any sigmoid is fine, torch's included.
"""
import torch

from sigmoid import sigmoid


def mlp_forward(x, params):
    """Return the network's output for a batch x (前向传播).

    x is (m, n0); params is a list of pairs (W, b), W of shape (n_{k-1}, n_k)
    and b of shape (n_k,). Every layer but the last computes
    h = sigmoid(h @ W + b); the last is linear: out = h @ W + b, shape (m, n_L).

    Worked example: with one hidden layer, params = [(W1, b1), (W2, b2)] and
    out = sigmoid(x @ W1 + b1) @ W2 + b2.
    """
    h = x
    for k, (W, b) in enumerate(params):
        h = h @ W + b
        if k < len(params) - 1:
            h = sigmoid(h)
    return h


def mse_loss(out, y):
    """Return the mean over all elements of (out - y) ** 2 (均方误差).

    Worked example: out = [[1.], [3.]], y = [[0.], [1.]] gives (1 + 4) / 2 = 2.5.
    """
    return ((out - y) ** 2).mean()


def mlp_backward(x, y, params):
    """Return (loss, grads): the loss and its gradient for every W and b (反向传播).

    grads is a list of pairs (dW, db) in the order and shapes of params.
    Work backwards from the loss, one layer at a time:
      - d loss / d out = 2 * (out - y) / N, where N = out.numel() (the mean);
      - through a linear layer z = h @ W + b:
        dW = h.T @ dz, db = dz summed over the batch, dh = dz @ W.T;
      - through a sigmoid a = s(z): dz = da * a * (1 - a).
    Keep each layer's input and output from the forward pass: the backward
    pass needs them.
    """
    activations = [x]
    h = x
    for k, (W, b) in enumerate(params):
        h = h @ W + b
        if k < len(params) - 1:
            h = sigmoid(h)
        activations.append(h)
    out = activations[-1]
    loss = mse_loss(out, y)
    grads = [None] * len(params)
    d = 2 * (out - y) / out.numel()
    for k in range(len(params) - 1, -1, -1):
        W, _ = params[k]
        if k < len(params) - 1:
            a = activations[k + 1]
            d = d * a * (1 - a)
        grads[k] = (activations[k].T @ d, d.sum(dim=0))
        d = d @ W.T
    return loss, grads


def train(x, y, params, lr, epochs):
    """Full-batch gradient descent (梯度下降) with mlp_backward.

    Each epoch: compute (loss, grads) at the current params, record the loss,
    then replace each W by W - lr * dW and each b by b - lr * db.
    Return (params, losses): the final params, in the same structure, and the
    list of the `epochs` losses, the first one measured before any update.
    """
    params = [(W, b) for W, b in params]
    losses = []
    for _ in range(epochs):
        loss, grads = mlp_backward(x, y, params)
        losses.append(float(loss))
        params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return params, losses
