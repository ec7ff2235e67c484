"""My step function: I go through the numbers one by one."""
import torch


def step(z):
    if isinstance(z, torch.Tensor):
        if z.is_floating_point():
            result_dtype = z.dtype
        else:
            result_dtype = torch.float64
        outputs = []
        for value in z.reshape(-1).tolist():
            if value > 0:
                outputs.append(1.0)
            else:
                outputs.append(0.0)
        return torch.tensor(outputs, dtype=result_dtype).reshape(z.shape)
    if z > 0:
        return 1
    else:
        return 0
