"""The one registry: exercises, in course order, with their checks and points.

Markers, report sections and gradebook columns all come from here.
"""
from dataclasses import dataclass

from grader.checks import chain_rule, mlp, perceptron, sigmoid, step, torch_mlp
from grader.config import EXERCISE_IDS as COURSE_ORDER
from grader.i18n import N_


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    import_bans: tuple  # bans that hold for the whole file, import included
    checks: tuple
    named_bans: tuple = ()  # bans some of its functions are under: the static scan looks for them

    @property
    def filename(self) -> str:
        return f"{self.id}.py"

    @property
    def points(self) -> float:
        return sum(check.points for check in self.checks)


EXERCISES = (
    Exercise("step", N_("The step activation (阶跃函数)"), (), step.CHECKS),
    Exercise("perceptron", N_("The perceptron (感知器)"), (), perceptron.CHECKS),
    Exercise("sigmoid", N_("The sigmoid neuron (S 型神经元)"), ("sigmoid",), sigmoid.CHECKS, ("sigmoid",)),
    Exercise("chain_rule", N_("Back-propagation on a computational graph (反向传播)"), (), chain_rule.CHECKS),
    Exercise("mlp", N_("A fully connected network by hand (全连接网络)"), (), mlp.CHECKS, ("autograd",)),
    Exercise("torch_mlp", N_("The same network with torch.nn"), (), torch_mlp.CHECKS),
)
EXERCISE_IDS = tuple(exercise.id for exercise in EXERCISES)
assert EXERCISE_IDS == COURSE_ORDER, "grader.config.EXERCISE_IDS and the registry disagree"
BY_ID = {exercise.id: exercise for exercise in EXERCISES}
ALL_CHECKS = tuple(check for exercise in EXERCISES for check in exercise.checks)


def exercise(exercise_id: str) -> Exercise:
    try:
        return BY_ID[exercise_id]
    except KeyError:
        raise KeyError(f"unknown exercise {exercise_id!r}; the exercises are {', '.join(EXERCISE_IDS)}") from None
