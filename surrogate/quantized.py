"""The whole-space predictions an artifact carries: its models' predicted means of every cell,
quantized to 16 bits.

A surrogate on a finite space is a table: at training time every model predicts all 423,624
cells once, and ``SurrogateBenchmark`` then answers by lookup, without loading a model (so
without importing XGBoost or torch). The file ``predictions.npz`` of an artifact holds one
``uint16`` array per prediction (``"<target>"`` for a target's mean; ``"<target>#member<k>"``
for member ``k`` of an ensemble, noise rule 6), and ``metadata.json`` its ``"predictions"``
section: per array the ``low`` end and the ``step``.

**Resolution.** A stored value is ``low + code * step`` with ``low`` the smallest prediction
and ``step = (highest - lowest) / 65535`` (:data:`LEVELS` codes), so a stored value lies within
``step`` of the model's prediction (usually within ``step / 2``: rounding to the nearest code;
one code further where the nearest code is on the other side of a bin edge of the target's
noise model, see below). That ``step`` is the stated resolution of each array; the
``"predictions"`` section records it.

**Noise bins.** The run noise of a cell (:mod:`surrogate.noise`, rule 1) takes its shape from
the bin of the predicted mean: a value rounded across a bin edge would draw from another bin's
quantiles and move a run by far more than ``step``. So every stored value is rounded to a code
on the same side of every edge as the model's prediction; a noisy run from the stored
predictions then differs from the model's run by at most ``step`` before noise rule 4's
monotone map, and by at most ``step`` times that map's steepest slope after it.

The file is written deterministically (fixed zip time stamps; not deflated: the codes of
scattered values barely compress, and plain members read without inflating), so retraining
with the same seed gives the same bytes; like every file of the artifact it is checksummed in
``metadata.json`` (checked before the first array is read).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import ArtifactError

__all__ = [
    "LEVELS",
    "PREDICTIONS_FILE",
    "quantize",
    "dequantize",
    "write_predictions",
    "StoredPredictions",
    "QuantizedColumn",
    "member_name",
    "write_npz",
]

#: Codes of a 16-bit prediction: 0 .. LEVELS.
LEVELS = 65535
#: The predictions' file inside an artifact.
PREDICTIONS_FILE = "predictions.npz"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def member_name(target: str, member: int | None) -> str:
    """Name of a stored prediction: the target's mean, or member ``member`` of its ensemble."""
    return target if member is None else f"{target}#member{member}"


def dequantize(codes: np.ndarray, low: float, step: float) -> np.ndarray:
    """Float64 values ``low + code * step`` of 16-bit codes (the one formula, used when
    writing and reading; in place on one new array)."""
    values = codes.astype(np.float64)
    values *= step
    values += low
    return values


def quantize(
    values: np.ndarray, edges: np.ndarray | None = None
) -> tuple[np.ndarray, float, float]:
    """``(codes, low, step)`` of predictions ``values`` (module docstring): uint16 codes whose
    :func:`dequantize` lies within ``step`` of each value and on the same side of every
    ``edges`` value (a bin edge of the target's noise model) as the value itself.

    Raises
    ------
    ValueError
        If ``values`` hold NaN or infinity, or two edges lie within one step of each other
        around a value (no code then keeps its bin).
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("predictions to store must be finite")
    low, high = float(values.min()), float(values.max())
    step = (high - low) / LEVELS
    if step == 0.0:
        return np.zeros(values.shape, np.uint16), low, 0.0
    codes = np.clip(np.rint((values - low) / step), 0, LEVELS)
    edges = np.asarray(edges if edges is not None else [], dtype=np.float64)
    for edge in edges:  # the nearest code across an edge: take the neighbour on the value's side
        above = values >= edge
        wrong = (dequantize(codes, low, step) >= edge) != above
        codes[wrong] += np.where(above[wrong], 1, -1)
    codes = np.clip(codes, 0, LEVELS).astype(np.uint16)
    stored = dequantize(codes, low, step)
    if (
        len(edges)
        and (
            np.searchsorted(edges, stored, side="right")
            != np.searchsorted(edges, values, side="right")
        ).any()
    ):
        raise ValueError(
            "two noise bin edges lie within one quantization step: a stored "
            "prediction cannot keep its bin"
        )
    if (np.abs(stored - values) > step * (1 + 1e-9)).any():
        raise ValueError("a quantized prediction is more than one step off")
    return codes, low, step


def write_predictions(
    folder: Path,
    predictions: Mapping[str, np.ndarray],
    edges: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Quantize ``predictions`` (name -> float64 of every cell; names from
    :func:`member_name`) into ``<folder>/predictions.npz`` and return the metadata section
    (``file``, ``levels``, and per name ``low`` and ``step``). ``edges``: per target, the
    noise model's bin edges (used for the target's mean and its members)."""
    section: dict[str, Any] = {"file": PREDICTIONS_FILE, "levels": LEVELS, "arrays": {}}
    arrays = {}
    for name in sorted(predictions):
        target = name.split("#", 1)[0]
        arrays[name], low, step = quantize(predictions[name], (edges or {}).get(target))
        section["arrays"][name] = {"low": low, "step": step}
    # not deflated: 16-bit codes of scattered values barely compress, and a plain member
    # reads without inflating
    write_npz(folder / PREDICTIONS_FILE, arrays, compress=False)
    return section


def write_npz(path: Path, arrays: Mapping[str, np.ndarray], compress: bool = True) -> None:
    """An ``.npz`` of ``arrays`` (deflated if ``compress``) whose bytes depend on the arrays
    only (``np.savez`` stamps the current time into the zip), so a retrained artifact's
    checksums repeat."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method, compresslevel=9 if compress else None) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME)
            info.compress_type = method
            zf.writestr(info, buffer.getvalue())


class StoredPredictions:
    """The whole-space predictions of an artifact (read lazily, one array per first need).

    Parameters
    ----------
    path : path-like
        The ``predictions.npz`` file.
    section : mapping
        The ``"predictions"`` section of the artifact's ``metadata.json``.
    cells : int
        Cells of the space (the length of every array).
    check : callable, optional
        Called once with the file's bytes before any array is taken from them (the
        artifact's checksum of the file).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        section: Mapping[str, Any],
        cells: int,
        check: Callable[[bytes], None] | None = None,
    ):
        self.path = Path(path)
        self.arrays = {
            str(name): (float(a["low"]), float(a["step"])) for name, a in section["arrays"].items()
        }
        self.cells = int(cells)
        self._check = check
        self._file: Any = None  # the file's bytes and its zip directory, read once

    def targets(self) -> frozenset[str]:
        """The names of the stored predictions."""
        return frozenset(self.arrays)

    def resolution(self, name: str) -> float:
        """The largest difference between a stored value of ``name`` and its model's
        prediction (the quantization step)."""
        return self.arrays[name][1]

    def load(self, name: str) -> np.ndarray | None:
        """Float64 predictions of every cell for ``name`` (None if not stored).

        Raises
        ------
        ArtifactError
            As :meth:`column`.
        """
        column = self.column(name)
        return None if column is None else np.asarray(column)

    def column(self, name: str) -> QuantizedColumn | None:
        """The predictions of every cell for ``name`` as their codes (None if not stored).

        Raises
        ------
        ArtifactError
            If the file's checksum differs from the artifact's record, or the array does not
            read or is not one uint16 code per cell.
        """
        if name not in self.arrays:
            return None
        try:
            if self._file is None:
                raw = self.path.read_bytes()
                if self._check is not None:
                    self._check(raw)
                self._file = (raw, zipfile.ZipFile(io.BytesIO(raw)))
            codes = _stored_member(*self._file, f"{name}.npy")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ArtifactError(
                f"{self.path}: the stored predictions of {name!r} do not read "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if codes.shape != (self.cells,) or codes.dtype != np.uint16:
            raise ArtifactError(
                f"{self.path}: {name!r} has shape {codes.shape} and dtype "
                f"{codes.dtype}, expected ({self.cells},) uint16"
            )
        if not codes.flags.aligned:  # at an odd offset of the file: NumPy would copy the
            codes = codes.copy()  # whole array to gather from it, on every take
        return QuantizedColumn(codes, *self.arrays[name])


class QuantizedColumn:
    """Predictions of every cell kept as their 16-bit codes and dequantized where read
    (:func:`dequantize`'s values): a lookup gathers 2 bytes per cell instead of 8, and a fresh
    process does not dequantize the whole space for its first query. Reads like the float64
    array of the cells: ``len``, ``take``, indexing, ``np.asarray``.

    Parameters
    ----------
    codes : ndarray of uint16
    low, step : float
    """

    def __init__(self, codes: np.ndarray, low: float, step: float):
        self.codes, self.low, self.step = codes, float(low), float(step)

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, indices: np.ndarray) -> np.ndarray:
        return dequantize(self.codes.take(indices), self.low, self.step)

    def value(self, index: int) -> float:
        """The value of one cell as a Python float: :func:`dequantize`'s two operations on
        Python floats (IEEE doubles), so the same value."""
        return self.low + self.codes.item(index) * self.step

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.value(index)
        return dequantize(self.codes[index], self.low, self.step)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = dequantize(self.codes, self.low, self.step)
        return values if dtype is None else values.astype(dtype, copy=False)


def _stored_member(raw: bytes, archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """The array of an uncompressed ``.npy`` member of the zip ``raw``, as a view of those
    bytes (no copy; its checksum was checked on the whole file). A deflated member (an
    artifact written otherwise) is read through the zip module."""
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        with archive.open(info) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    local = raw[info.header_offset : info.header_offset + 30]
    if local[:4] != b"PK\x03\x04":
        raise ValueError(f"bad local header of {member!r}")
    start = (
        info.header_offset
        + 30
        + int.from_bytes(local[26:28], "little")
        + int.from_bytes(local[28:30], "little")
    )
    fh = io.BytesIO(raw[start : start + 256])  # the .npy header
    version = np.lib.format.read_magic(fh)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{member!r} has .npy format {version}")
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = read_header(fh)
    if fortran or dtype.hasobject or len(shape) != 1:
        raise ValueError(f"{member!r} is not a 1-d array")
    return np.frombuffer(raw, dtype=dtype, count=shape[0], offset=start + fh.tell())
