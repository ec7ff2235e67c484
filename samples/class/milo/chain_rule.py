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
    c = a + b
    d = b + 1
    return {"c": c, "d": d, "e": c * d}


def local_grads(a, b):
    """Return the partial derivative along each edge of the graph (局部梯度).

    Keys: "de/dc", "de/dd", "dc/da", "dc/db", "dd/db".
    Since e = c * d, de/dc is d and de/dd is c; c = a + b and d = b + 1 give
    derivatives of 1 along their edges.

    Worked example: at a = 2, b = 1 (so c = 3, d = 2), de/dc = 2 and de/dd = 3.
    """
    values = forward(a, b)
    return {
        "de/dc": values["d"],
        "de/dd": values["c"],
        "dc/da": 1.0,
        "dc/db": 1.0,
        "dd/db": 1.0,
    }


def backward(a, b):
    """Return (de/da, de/db) by the chain rule: sum over paths of products.

        de/da = de/dc * dc/da                   (one path: a -> c -> e)
        de/db = de/dc * dc/db + de/dd * dd/db   (two paths: through c and d)

    Worked example: at a = 2, b = 1 this is (2 * 1, 2 * 1 + 3 * 1) = (2.0, 5.0).
    """
    g = local_grads(a, b)
    de_da = g["de/dc"] * g["dc/da"]
    de_db = g["de/dc"] * g["dc/db"] + g["de/dd"] * g["dd/db"]
    return float(de_da), float(de_db)


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
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        """self * other: the product rule, d(xy)/dx = y and d(xy)/dy = x."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        """self ** exponent for a number exponent: d(x^k)/dx = k * x^(k-1)."""
        out = Value(self.data**exponent, (self,))

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        """e ** self: its derivative is itself."""
        out = Value(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        """1 / (1 + e ** -self): its derivative is s * (1 - s)."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            s = math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,))

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        """-self."""
        return self * -1.0

    def __sub__(self, other):
        """self - other."""
        return self + (-other)

    def __radd__(self, other):
        """other + self, for a number other."""
        return self + other

    def __rsub__(self, other):
        """other - self, for a number other."""
        return (-self) + other

    def __rmul__(self, other):
        """other * self, for a number other."""
        return self * other

    def backward(self):
        """Set self.grad = 1.0, then the gradient of self for every node it
        depends on (反向传播).

        Visit the nodes in reverse topological order (拓扑排序): a node passes
        its gradient back only after every node that uses it has passed theirs,
        so a node used twice collects the sum of both paths. Visit each node
        once.
        """
        order, seen = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs need no recursion
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._children if id(child) not in seen)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
