"""Auto-grader for a first course in neural networks with PyTorch."""

__version__ = "0.1.0"
