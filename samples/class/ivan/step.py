"""Exercise 1: the step activation (阶跃函数, step function).

A neuron's oldest activation: it fires (outputs 1) when its input is strictly
positive and stays silent (outputs 0) otherwise. Everything in the perceptron
exercise is built on this one function.
"""
import torch


def step(z):
    """Return 1 where z > 0 and 0 elsewhere (the step activation, 阶跃函数).

    Maths: step(z) = 1 if z > 0, else 0. Note the strict inequality: step(0) = 0,
    and a NaN compares false with everything, so step(nan) = 0 as well.

    Input and output:
      - a Python number gives a Python number: step(2.5) -> 1, step(0) -> 0;
      - a tensor gives a tensor of the same shape and the same floating dtype,
        holding 1.0 and 0.0: step(tensor([-1., 0., 3.])) -> tensor([0., 0., 1.]).
        (An integer or bool tensor may give any floating dtype.)

    Hint: a comparison such as `z > 0` gives a bool tensor; it still has to be
    turned into floating-point numbers.
    """
    if isinstance(z, torch.Tensor):
        dtype = z.dtype if z.is_floating_point() else torch.get_default_dtype()
        return (z > 0).to(dtype)
    return 1 if z > 0 else 0
