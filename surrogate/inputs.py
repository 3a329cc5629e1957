"""Model inputs of cells, and predictions of many cells in chunks.

A model of an artifact takes the featurizer's features of a cell (array models) or the cell's
graph (graph models); a stacked target's model takes, as one last column, the prediction of
another target's model for the same cell (stacking, :mod:`surrogate.artifact`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PREDICT_CHUNK", "make_inputs", "predict_cells", "with_column"]

#: Cells per model call when predicting many cells (the features of the whole space never
#: sit in memory at once).
PREDICT_CHUNK = 65536


def make_inputs(model: Any, featurizer: str, indices: np.ndarray, *, base: Any = None) -> Any:
    """Features of cells for ``model``: a float32 array for array models, PyG ``Data`` for
    graph models (a ``Batch`` of the canonical cells; the featurizer is then unused).
    ``base``: a fitted array model on the same featurizer whose prediction is appended as
    the last column (stacking)."""
    if getattr(model, "input_kind", "array") == "graph":
        if base is not None:
            raise ValueError("a graph model cannot be stacked on another model's prediction")
        from features import cells_to_batch

        return cells_to_batch(np.asarray(indices, dtype=np.int64))
    from features import get_featurizer

    X = get_featurizer(featurizer).transform(np.asarray(indices, dtype=np.int64))
    return X if base is None else with_column(X, base.predict(X))


def with_column(X: np.ndarray, column: np.ndarray) -> np.ndarray:
    """``X`` with ``column`` appended (float32, the features' dtype)."""
    return np.hstack([X, np.asarray(column, dtype=np.float32).reshape(-1, 1)])


def predict_cells(
    model: Any, featurizer: str, indices: np.ndarray, *, members: bool = False, base: Any = None
) -> np.ndarray:
    """Predictions of ``model`` for cell indices, float64 (K,), in chunks of
    :data:`PREDICT_CHUNK` cells; ``members=True``: each member's prediction of an ensemble,
    (M, K); ``base``: see :func:`make_inputs`."""
    indices = np.asarray(indices, dtype=np.int64)
    chunks = [
        indices[start : start + PREDICT_CHUNK] for start in range(0, len(indices), PREDICT_CHUNK)
    ]
    if members:
        width = len(model.members_)
        return np.concatenate(
            [np.zeros((width, 0))]
            + [
                np.asarray(
                    model.predict_members(make_inputs(model, featurizer, chunk, base=base)),
                    dtype=np.float64,
                ).T
                for chunk in chunks
            ],
            axis=1,
        )
    return np.concatenate(
        [np.zeros(0)]
        + [
            np.asarray(
                model.predict(make_inputs(model, featurizer, chunk, base=base)), dtype=np.float64
            ).ravel()
            for chunk in chunks
        ]
    )
