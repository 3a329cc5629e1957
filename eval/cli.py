"""The evaluation's commands of the ``nb101`` command line, registered through the
``nb101.commands`` entry-point group: ``nb101 fidelity ARGS...`` is ``python -m eval.fidelity
ARGS...`` and ``nb101 predictors ARGS...`` is ``python -m eval.predictors ARGS...``.

The modules are imported only when their command runs, so ``nb101 --help`` stays fast.
"""

from __future__ import annotations

from nb101.cli import add_forwarded_command

__all__ = ["add_fidelity_command", "add_predictors_command"]


def add_fidelity_command(sub) -> None:
    """Add ``nb101 fidelity`` (:func:`eval.fidelity.main`) to the ``nb101`` subparsers."""
    add_forwarded_command(
        sub, "fidelity", "eval.fidelity:main", help="algorithm-ranking fidelity study of surrogates"
    )


def add_predictors_command(sub) -> None:
    """Add ``nb101 predictors`` (:func:`eval.predictors.main`) to the ``nb101`` subparsers."""
    add_forwarded_command(
        sub,
        "predictors",
        "eval.predictors.cli:main",
        help="performance-predictor protocol on a table",
    )
