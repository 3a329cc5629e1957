"""The per-machine prediction cache: whole-space predictions of an artifact that does not
carry its own.

An artifact written by this version stores its models' predictions of every cell
(:mod:`surrogate.quantized`), and
:class:`~surrogate.surrogate_benchmark.SurrogateBenchmark` reads them from there: it never
uses this cache. An artifact without them (schema 2 or 3, or trained with
``--no-predictions``) answers with its models; predicting all 423,624 cells costs a model
call per target over the whole space, looking them up microseconds. So once a whole-space
prediction of such an artifact is made (:meth:`SurrogateBenchmark.precompute
<surrogate.surrogate_benchmark.SurrogateBenchmark.precompute>`, ``nb101 rank``, a
``full_cache=True`` benchmark), its values are written to

    ``<cache>/predictions-<digest>.npz``

where ``<cache>`` is the project cache folder (``$NB101_CACHE`` or
``~/.cache/nb101-surrogate``) and ``<digest>`` is :attr:`surrogate.artifact.Artifact.digest`,
the sha256 of what the artifact's models compute (featurizer, and each target's weights and
model metadata): another artifact, or a retrained one, never reads these values. A
benchmark reads a target's array when the target is first needed, through the same lookup
path as stored predictions, without loading its model.

The file is an uncompressed ``.npz`` written atomically: ``format`` (:data:`PREDICTIONS_FORMAT`),
``digest`` (the artifact digest, checked on read) and one float64 array of length
:data:`nb101.cell_space.NUM_CELLS` per target, under the target's name. Writing merges the
targets already in the file. A file that does not read back (corrupt, truncated, another
format) is ignored with a warning and written anew after the next whole-space prediction.
Delete the files to reclaim the space (8 bytes per cell and target).
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nb101.cell_space import NUM_CELLS
from nb101.io import atomic_savez, open_npz
from nb101.openers import cache_folder

__all__ = ["PREDICTIONS_FORMAT", "PredictionCache"]

_log = logging.getLogger(__name__)

#: Version of the prediction cache file.
PREDICTIONS_FORMAT = 1


class PredictionCache:
    """The cached whole-space predictions of one artifact (see the module docstring).

    Parameters
    ----------
    digest : str
        The artifact's :attr:`~surrogate.artifact.Artifact.digest`.
    folder : path-like, optional
        Where the file lives (default: the project cache folder).
    """

    def __init__(self, digest: str, folder: str | Path | None = None):
        self.digest = str(digest)
        folder = Path(folder) if folder is not None else cache_folder()
        self.path = folder / f"predictions-{self.digest}.npz"
        self._targets: frozenset[str] | None = None

    def targets(self) -> frozenset[str]:
        """Targets the file holds (empty if there is no valid file); read once."""
        if self._targets is None:
            self._targets = frozenset(self._members())
        return self._targets

    def _members(self) -> list[str]:
        if not self.path.is_file():
            return []
        try:
            with open_npz(self.path) as data:
                if int(data["format"]) != PREDICTIONS_FORMAT or str(data["digest"]) != self.digest:
                    raise ValueError("another format or artifact digest")
                return [name for name in data.files if name not in ("format", "digest")]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            _log.warning("ignoring the prediction cache %s: %s", self.path, exc)
            return []

    def load(self, target: str) -> np.ndarray | None:
        """The cached predictions of ``target`` (float64, one per cell), or None."""
        if target not in self.targets():
            return None
        try:
            with open_npz(self.path) as data:
                values = data[target]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            _log.warning("ignoring the prediction cache %s: %s", self.path, exc)
            self._targets = frozenset()
            return None
        if values.shape != (NUM_CELLS,) or values.dtype != np.float64 or np.isnan(values).any():
            _log.warning(
                "ignoring %s of the prediction cache %s: shape %s, dtype %s",
                target,
                self.path,
                values.shape,
                values.dtype,
            )
            return None
        return values

    def save(self, predictions: Mapping[str, np.ndarray]) -> Path:
        """Write ``predictions`` (target -> float64 array of every cell), merged with the
        targets the file already holds, atomically."""
        arrays = {}
        for target in sorted(self.targets() - set(predictions)):
            values = self.load(target)
            if values is not None:
                arrays[target] = values
        for target, values in predictions.items():
            values = np.asarray(values, dtype=np.float64)
            if values.shape != (NUM_CELLS,) or np.isnan(values).any():
                raise ValueError(
                    f"predictions of {target!r} must cover every cell, got shape {values.shape}"
                )
            arrays[target] = values
        atomic_savez(
            self.path, format=np.array(PREDICTIONS_FORMAT), digest=np.array(self.digest), **arrays
        )
        self._targets = frozenset(arrays)
        _log.info("wrote the prediction cache %s (%s)", self.path, ", ".join(sorted(arrays)))
        return self.path
