"""Typed exceptions of the project; each message names the input and the rule it broke."""

__all__ = [
    "OutOfDomainError",
    "UnknownHashError",
    "RecordError",
    "TableError",
    "PartialTableError",
    "ArtifactError",
]


class OutOfDomainError(ValueError):
    """A cell or budget outside the NAS-Bench-101 space (same name as ``nasbench.api``)."""


class UnknownHashError(OutOfDomainError, KeyError):
    """A module hash that no cell of the space has (:meth:`nb101.CellSpace.index_of_hash`).

    An :class:`OutOfDomainError`, and a ``KeyError`` too since it is a failed mapping lookup.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RecordError(ValueError):
    """A TFRecord file or record that breaks the official format."""


class TableError(ValueError):
    """A file that is not a table of this project, or of another schema version."""


class PartialTableError(KeyError):
    """The table covers the space only partly and lacks the requested cell or budget."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ArtifactError(ValueError):
    """A surrogate artifact that is missing, corrupt, stale or made for other targets."""
