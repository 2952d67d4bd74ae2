"""harness: reproduce the empirical claims of deep-learning generalization theory on CIFAR-10."""

__version__ = "0.1.0"
