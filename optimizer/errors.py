"""Exception and warning classes of carbonpark.

Every error that bad input can cause is one of these, so callers can catch
``OptimizerError`` (or the built-in it refines, e.g. ``ValueError``) and show
a one-line message. Messages name the input, what was wrong and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class OptimizerError(Exception):
    """Root of all carbonpark errors."""


class InputDataError(OptimizerError, ValueError):
    """An input file or argument is unusable as given."""


class CRSError(InputDataError):
    """A layer has no coordinate reference system, or one we cannot use."""


class CRSMismatchError(CRSError):
    """Two inputs that must share a CRS do not."""


class UnitError(InputDataError):
    """A layer declares a unit we do not know, or one that does not fit its role."""


class ScenarioError(InputDataError):
    """A scenario file or its values are invalid."""


class InfeasibleProblemError(OptimizerError):
    """A problem has no feasible solution."""


class SolverError(OptimizerError, RuntimeError):
    """A solver failed without producing any solution."""


class OutputError(OptimizerError, OSError):
    """An output cannot be written where asked.

    Either the path is taken by something that is not this command's own earlier output
    (a user's file or folder, one of the command's inputs, the current folder), like
    `FileExistsError`, or writing failed (no space, no permission). The message names the
    path as the user gave it, never a temporary one; ``errno`` is kept when there is one.
    """


class OptimizerWarning(UserWarning):
    """Root of all carbonpark warnings."""


class GeometryRepairWarning(OptimizerWarning):
    """Invalid geometries were repaired (``shapely.make_valid``)."""


class NodataWarning(OptimizerWarning):
    """Part of the study area has no data in a layer; it was excluded from totals."""


class UnitPlausibilityWarning(OptimizerWarning):
    """A layer's densities are beyond what real products have: its declared unit is likely wrong."""


class CRSWarning(OptimizerWarning):
    """Units were reprojected, or their CRS does not preserve area (areas were corrected)."""


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 3) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the valid names nearest ``word``, or ``""``.

    Parameters
    ----------
    word : str
        The name as the user wrote it.
    choices : iterable of str
        The valid names.
    n : int
        At most this many suggestions.

    Returns
    -------
    str
        A clause to append to a message (``""`` when nothing is close).
    """
    options = [str(c) for c in choices]
    hits = difflib.get_close_matches(str(word), options, n=n, cutoff=0.6)
    if not hits:  # case slips ("Cropland") and prefixes ("crop") count as near too
        low = str(word).lower()
        hits = [c for c in options if c.lower() == low or (len(low) >= 3 and c.lower().startswith(low))][:n]
    if not hits:
        return ""
    return f"; did you mean {' or '.join(repr(h) for h in hits)}?"
