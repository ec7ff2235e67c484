"""The sigmoid and autograd bans hold whatever route student code takes, and end with their exercise.

Each case is a submission graded through a real zygote and sandboxed child. The routes
include ones a hook on torch's Python functions does not see (torch.ops.aten, forward-mode
dual numbers) and ones that reach the banned code from inside torch (nn.Sigmoid, torch.func).
"""
import textwrap

import pytest

from grader.config import SOLUTIONS_DIR
from grader.grading import grade_submission

BOTH = ("public", "hidden")

SIGMOID_ROUTES = {
    "torch.sigmoid": "return torch.sigmoid(x)",
    "getattr": "return getattr(torch, 'sig' + 'moid')(x)",
    "aten operator": "return torch.ops.aten.sigmoid(x)",
    "special.expit": "return torch.special.expit(x)",
    "nn.Sigmoid": "return torch.nn.Sigmoid()(x)",
    "functional": "return torch.nn.functional.sigmoid(x)",
    "in place": "return x.clone().sigmoid_()",
    "inference mode": "return torch.inference_mode()(lambda t: t.sigmoid())(x)",
    "sparse": "return torch.sigmoid(x.to_sparse()).to_dense()",
}


@pytest.mark.parametrize("route", sorted(SIGMOID_ROUTES))
def test_every_route_to_a_library_sigmoid_is_forbidden(zygote, make_submission, route):
    body = SIGMOID_ROUTES[route]
    folder = make_submission({"sigmoid.py": f"""
        import torch
        def sigmoid(x):
            x = torch.as_tensor(x)
            {body}
        def sigmoid_grad(x):
            s = sigmoid(x)
            return s * (1 - s)
        def neuron(x, w, b):
            return sigmoid(x @ w + b)
    """})
    result = grade_submission(folder, exercise_ids=["sigmoid"], visibilities=BOTH, hidden_seed=3, zygote=zygote)
    values = next(check for check in result.checks if check.check_id == "sigmoid.values")
    assert values.status == "forbidden", (route, values.status, values.message)
    assert "not allowed in sigmoid.py" in values.message


def with_mlp_backward(body):
    """The reference mlp.py with mlp_backward defined again after it: its train then calls this one."""
    return (SOLUTIONS_DIR / "mlp.py").read_text() + textwrap.dedent(body)


LOSS_OF_FLAT = """
    def loss_of(x, y):
        def loss(*flat):  # W1, b1, W2, b2, ...
            return mse_loss(mlp_forward(x, list(zip(flat[::2], flat[1::2]))), y)
        return loss
"""

AUTOGRAD_ROUTES = {
    "backward": ("""
    def mlp_backward(x, y, params):
        leaves = [(W.detach().clone(), b.detach().clone()) for W, b in params]
        for W, b in leaves:
            W.requires_grad = True
            b.requires_grad = True
        loss = mse_loss(mlp_forward(x, leaves), y)
        loss.backward()
        return loss.detach(), [(W.grad, b.grad) for W, b in leaves]
    """, "requires_grad"),
    "autograd.grad": ("""
    def mlp_backward(x, y, params):
        leaves = [(torch.tensor(W.tolist(), dtype=W.dtype, requires_grad=True),
                   torch.tensor(b.tolist(), dtype=b.dtype, requires_grad=True)) for W, b in params]
        loss = mse_loss(mlp_forward(x, leaves), y)
        flat = torch.autograd.grad(loss, [t for pair in leaves for t in pair])
        return loss.detach(), list(zip(flat[::2], flat[1::2]))
    """, "requires_grad"),
    "torch.func.grad": (LOSS_OF_FLAT + """
    def mlp_backward(x, y, params):
        flat = [t for pair in params for t in pair]
        grads = torch.func.grad(loss_of(x, y), argnums=tuple(range(len(flat))))(*flat)
        return loss_of(x, y)(*flat), list(zip(grads[::2], grads[1::2]))
    """, "torch.func"),
    "forward mode": (LOSS_OF_FLAT + """
    def mlp_backward(x, y, params):
        flat = [t for pair in params for t in pair]
        grads = torch.func.jacfwd(loss_of(x, y), argnums=tuple(range(len(flat))))(*flat)
        return loss_of(x, y)(*flat), list(zip(grads[::2], grads[1::2]))
    """, "forward-mode"),
}


@pytest.mark.parametrize("route", sorted(AUTOGRAD_ROUTES))
def test_every_route_to_autograd_is_forbidden_in_mlp(zygote, make_submission, route):
    body, named = AUTOGRAD_ROUTES[route]
    folder = make_submission({"mlp.py": with_mlp_backward(body)})
    result = grade_submission(folder, exercise_ids=["mlp"], visibilities=BOTH, hidden_seed=3, zygote=zygote)
    checks = {check.check_id: check for check in result.checks}
    assert checks["mlp.forward"].status == "passed"  # the ban is for mlp_backward and train only
    for check_id in ("mlp.backward", "mlp.train"):
        assert checks[check_id].status == "forbidden", (route, check_id, checks[check_id].message)
        assert named in checks[check_id].message and "not allowed in mlp.py" in checks[check_id].message


def test_a_ban_ends_with_its_exercise(zygote, make_submission):
    """The sigmoid kernels banned in sigmoid.py are torch's own again for torch_mlp.py, in the same child."""
    folder = make_submission({
        "sigmoid.py": """
            import torch
            def sigmoid(x):
                return torch.sigmoid(torch.as_tensor(x))
            sigmoid_grad = neuron = sigmoid
        """,
        "torch_mlp.py": (SOLUTIONS_DIR / "torch_mlp.py").read_text(),  # its forward calls torch.sigmoid
    })
    result = grade_submission(folder, exercise_ids=["sigmoid", "torch_mlp"], visibilities=BOTH, hidden_seed=3,
                              zygote=zygote)
    statuses = {check.check_id: check.status for check in result.checks}
    assert statuses["sigmoid.values"] == "forbidden"
    assert {status for check_id, status in statuses.items() if check_id.startswith("torch_mlp.")} == {"passed"}, statuses


def test_kernel_bans_last_as_long_as_their_block():
    """Outside holding() (the nbgrader kernel calls one check at a time) a ban ends with its block; inside it
    (one exercise in the child) a block without the ban never runs with it."""
    import torch

    from grader.harness import bans

    x = torch.ones(2)
    with bans.guarded(["sigmoid"]):
        with pytest.raises(bans.ForbiddenCall):
            torch.sigmoid(x)
    assert torch.sigmoid(x)[0] > 0.5
    with bans.holding():
        with bans.guarded(["sigmoid"]):
            pass
        with pytest.raises(bans.ForbiddenCall):
            torch.sigmoid(x)  # held between two blocks that want it: only the harness runs here
        with bans.guarded([]):
            assert torch.sigmoid(x)[0] > 0.5
    with bans.holding():
        with bans.guarded(["sigmoid"]):
            pass
    assert torch.sigmoid(x)[0] > 0.5
    bans.clear()
