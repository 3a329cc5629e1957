"""Former private name of :mod:`nb101.io`, kept so that imports written before the rename
(other branches) still work; import :mod:`nb101.io` instead."""

from .io import (atomic_folder, atomic_path, atomic_savez, load_npy, open_npz, to_jsonable,
                 write_json)

__all__ = ["atomic_path", "atomic_savez", "atomic_folder", "write_json", "to_jsonable",
           "open_npz", "load_npy"]
