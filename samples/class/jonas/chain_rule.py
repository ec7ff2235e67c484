r"""Exercise 4: back-propagation (反向传播) on a computational graph (计算图).

The graph of e = (a + b) * (b + 1), with inner nodes c = a + b and d = b + 1:

        a ----\
               (+) -> c --\
        b ----/            (*) -> e
         \                /
          `--(+1) -> d --'

Every edge carries a local partial derivative (局部偏导数). The chain rule
(链式法则) says: the derivative of e with respect to a node is the sum, over
all paths from that node to e, of the product of the edge derivatives along
the path. b reaches e by two paths (through c and through d), so both count.

The second half builds the same idea into a class, Value, that records the
graph as you compute and back-propagates through any graph automatically:
the heart of reverse-mode automatic differentiation (反向模式自动微分).
"""
import math


def forward(a, b):
    """Return {"c": a + b, "d": b + 1, "e": c * d}: the forward pass (前向传播).

    Worked example: forward(2, 1) gives {"c": 3, "d": 2, "e": 6}.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def local_grads(a, b):
    """Return the partial derivative along each edge of the graph (局部梯度).

    Keys: "de/dc", "de/dd", "dc/da", "dc/db", "dd/db".
    Since e = c * d, de/dc is d and de/dd is c; c = a + b and d = b + 1 give
    derivatives of 1 along their edges.

    Worked example: at a = 2, b = 1 (so c = 3, d = 2), de/dc = 2 and de/dd = 3.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def backward(a, b):
    """Return (de/da, de/db) by the chain rule: sum over paths of products.

        de/da = de/dc * dc/da                   (one path: a -> c -> e)
        de/db = de/dc * dc/db + de/dd * dd/db   (two paths: through c and d)

    Worked example: at a = 2, b = 1 this is (2 * 1, 2 * 1 + 3 * 1) = (2.0, 5.0).
    """
    # YOUR CODE HERE
    raise NotImplementedError


class Value:
    """A scalar node of a computational graph (计算图的节点), with its gradient.

    Value(data) holds .data (a float) and .grad (0.0 until backward runs).
    Each operation (+, -, *, ** with a number exponent, exp(), sigmoid())
    returns a new Value that remembers its inputs (its children in the graph)
    and how to pass a gradient back to them.

    Example, the graph above:
        a, b = Value(2.0), Value(1.0)
        e = (a + b) * (b + 1)
        e.backward()
        a.grad, b.grad   # (2.0, 5.0): b collects both of its paths
    """

    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._children = tuple(_children)
        # Filled in by each operation: adds this node's gradient, times the
        # local derivative, into each child's .grad.
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        """self + other: both local derivatives are 1."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __mul__(self, other):
        """self * other: the product rule, d(xy)/dx = y and d(xy)/dy = x."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __pow__(self, exponent):
        """self ** exponent for a number exponent: d(x^k)/dx = k * x^(k-1)."""
        # YOUR CODE HERE
        raise NotImplementedError

    def exp(self):
        """e ** self: its derivative is itself."""
        # YOUR CODE HERE
        raise NotImplementedError

    def sigmoid(self):
        """1 / (1 + e ** -self): its derivative is s * (1 - s)."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __neg__(self):
        """-self."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __sub__(self, other):
        """self - other."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __radd__(self, other):
        """other + self, for a number other."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __rsub__(self, other):
        """other - self, for a number other."""
        # YOUR CODE HERE
        raise NotImplementedError

    def __rmul__(self, other):
        """other * self, for a number other."""
        # YOUR CODE HERE
        raise NotImplementedError

    def backward(self):
        """Set self.grad = 1.0, then the gradient of self for every node it
        depends on (反向传播).

        Visit the nodes in reverse topological order (拓扑排序): a node passes
        its gradient back only after every node that uses it has passed theirs,
        so a node used twice collects the sum of both paths. Visit each node
        once.
        """
        # YOUR CODE HERE
        raise NotImplementedError
