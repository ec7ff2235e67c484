import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layer_list = []
        for i in range(len(sizes) - 1):
            layer_list.append(nn.Linear(sizes[i], sizes[i + 1]))
        self.layers = nn.ModuleList(layer_list)

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i != last:
                x = torch.sigmoid(x)
        return x


def fit(model, x, y, lr=0.5, epochs=100):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    history = []
    epoch = 0
    while epoch < epochs:
        opt.zero_grad()
        prediction = model(x)
        loss = criterion(prediction, y)
        history.append(loss.item())
        loss.backward()
        opt.step()
        epoch += 1
    return history
