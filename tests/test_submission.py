"""Locating exercise files: root or exercises/, near misses named, compile errors explained."""
from grader.submission import banned_mentions, locate


def test_files_at_the_root_or_under_exercises(make_submission):
    folder = make_submission({"step.py": "x = 1\n", "exercises/sigmoid.py": "y = 2\n"})
    found = locate(folder, ["step", "sigmoid", "mlp"])
    assert found["step"].path.name == "step.py" and not found["step"].problem
    assert found["sigmoid"].path.parent.name == "exercises"
    assert found["mlp"].status == "missing" and "mlp.py was not found" in found["mlp"].problem


def test_near_miss_names_are_named_and_count_as_missing(make_submission):
    folder = make_submission({"Sigmoid.py": "", "mlp (1).py": ""})
    found = locate(folder, ["sigmoid", "mlp"])
    assert found["sigmoid"].status == "missing" and "Sigmoid.py" in found["sigmoid"].problem
    assert found["mlp"].status == "missing" and "mlp (1).py" in found["mlp"].problem


def test_syntax_error_names_the_line(make_submission):
    folder = make_submission({"step.py": "def step(z):\n    return (z > 0\n\nx = 1\n"})
    problem = locate(folder, ["step"])["step"]
    assert problem.status == "error"
    assert "does not compile" in problem.problem and "line" in problem.problem


def test_source_encoding_follows_python_rules(tmp_path):
    (tmp_path / "step.py").write_bytes("# -*- coding: latin-1 -*-\nname = 'é'\n".encode("latin-1"))
    assert not locate(tmp_path, ["step"])["step"].problem
    (tmp_path / "step.py").write_bytes(b"name = '\xe9'\n")  # not UTF-8, no coding line
    assert locate(tmp_path, ["step"])["step"].status == "error"


def test_static_scan_points_at_banned_calls(make_submission):
    folder = make_submission({"sigmoid.py": "import torch\ndef sigmoid(x):\n    return torch.sigmoid(x)\n",
                              "mlp.py": "def mlp_backward(x, y, p):\n    loss.backward()\ndef other():\n    z.backward()\n"})
    assert banned_mentions(folder / "sigmoid.py", {"sigmoid"}) == [(3, "torch.sigmoid")]
    assert banned_mentions(folder / "mlp.py", {"autograd"}) == [(2, "loss.backward")]
