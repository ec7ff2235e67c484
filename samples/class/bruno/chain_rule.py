import math


def forward(a, b):
    c = a + b
    d = b + 1
    e = c * d
    return {"c": c, "d": d, "e": e}


def local_grads(a, b):
    c = a + b
    d = b + 1
    return {"de/dc": d, "de/dd": c, "dc/da": 1, "dc/db": 1, "dd/db": 1}


def backward(a, b):
    g = local_grads(a, b)
    de_da = g["de/dc"] * g["dc/da"]
    path_through_c = g["de/dc"] * g["dc/db"]
    path_through_d = g["de/dd"] * g["dd/db"]
    return float(de_da), float(path_through_c + path_through_d)


class Value:
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = list(_children)
        self._back = None

    def __repr__(self):
        return "Value(%s)" % self.data

    @staticmethod
    def _wrap(thing):
        if isinstance(thing, Value):
            return thing
        return Value(thing)

    def __add__(self, other):
        other = Value._wrap(other)
        out = Value(self.data + other.data, (self, other))

        def back():
            self.grad += out.grad
            other.grad += out.grad

        out._back = back
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = Value._wrap(other)
        out = Value(self.data * other.data, (self, other))

        def back():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._back = back
        return out

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * (-1)

    def __sub__(self, other):
        return self + (-Value._wrap(other))

    def __rsub__(self, other):
        return Value._wrap(other) + (-self)

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))

        def back():
            self.grad += k * (self.data ** (k - 1)) * out.grad

        out._back = back
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def back():
            self.grad += out.data * out.grad

        out._back = back
        return out

    def sigmoid(self):
        x = self.data
        if x >= 0:
            s = 1 / (1 + math.exp(-x))
        else:
            s = math.exp(x) / (1 + math.exp(x))
        out = Value(s, (self,))

        def back():
            self.grad += s * (1 - s) * out.grad

        out._back = back
        return out

    def backward(self):
        # topological order without recursion (graphs can be deep)
        order = []
        visited = set()
        todo = [(self, 0)]
        while todo:
            node, state = todo.pop()
            if state == 1:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            todo.append((node, 1))
            for child in node._prev:
                if id(child) not in visited:
                    todo.append((child, 0))
        self.grad = 1.0
        for node in reversed(order):
            if node._back is not None:
                node._back()
