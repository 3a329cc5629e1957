"""Errors of the evaluation package."""

__all__ = ["EvalConfigError"]


class EvalConfigError(ValueError):
    """A bad option of an experiment (unknown optimizer or track, non-positive budget, a
    backend without the data a track needs); raised before any run starts. The message names
    the option, the value got and what is allowed."""
