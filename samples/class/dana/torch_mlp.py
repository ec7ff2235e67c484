"""Exercise 6: the same network with PyTorch modules (torch.nn).

torch.nn.Linear holds a layer's weight and bias; torch.nn.Module tracks every
parameter for you, autograd (自动求导) computes the gradients that you wrote by
hand in mlp.py, and an optimizer (优化器) applies the update.
"""
import torch


class MLP(torch.nn.Module):
    """A multilayer perceptron built from torch.nn.Linear layers.

    MLP(sizes), e.g. MLP([2, 4, 1]), holds self.layers, a torch.nn.ModuleList
    of torch.nn.Linear(sizes[k], sizes[k + 1]). Its state_dict() keys are then
    layers.0.weight, layers.0.bias, layers.1.weight, ...

    forward(x) applies the layers in order, with a sigmoid after every layer
    but the last (any sigmoid is fine here, torch.sigmoid included).
    Note: nn.Linear computes x @ weight.T + bias, so its weight has shape
    (out_features, in_features).
    """

    def __init__(self, sizes):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = torch.sigmoid(x)
        return x


def fit(model, x, y, lr=0.5, epochs=100):
    """Train model on (x, y), full batch, and return the list of `epochs` losses.

    Use torch.optim.SGD(model.parameters(), lr=lr) and torch.nn.MSELoss().
    Each epoch (轮次): zero the gradients (梯度清零), compute the loss, record
    loss.item(), back-propagate (loss.backward()), take an optimizer step.
    Forgetting to zero the gradients makes them pile up from epoch to epoch.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses
