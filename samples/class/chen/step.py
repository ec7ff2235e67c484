import torch


def step(z):
    # fires when z is positive (or zero?)
    if isinstance(z, torch.Tensor):
        out = torch.zeros(z.shape, dtype=z.dtype if z.is_floating_point() else torch.float64)
        out[z >= 0] = 1.0
        return out
    return 1 if z >= 0 else 0
