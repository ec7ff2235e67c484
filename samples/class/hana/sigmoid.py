import torch


def sigmoid(x):
    return torch.sigmoid(torch.as_tensor(x))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def neuron(x, w, b):
    return sigmoid(torch.as_tensor(x) @ torch.as_tensor(w) + b)
