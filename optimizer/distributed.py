"""The one way carbonpark reaches Dask: a client of a new LocalCluster or of a scheduler address.

Used by sweeps (`optimizer.studies.sweep`) and banded grid builds (``carbonpark grid --scheduler``).
Dask is optional (``pip install 'carbonpark[dask]'``) and imported only here, on first use.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from optimizer.errors import OptimizerError

__all__ = ["dask_client"]

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://")


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int | None = None, *,
                error: type[OptimizerError] = OptimizerError) -> Iterator[Any]:
    """A ``dask.distributed.Client``: of a LocalCluster (``scheduler="local"``, ``workers``
    processes of one thread) or of the scheduler at an address (``tcp://host:8786``).

    Raises ``error`` (one line) when Dask is missing, the address is not one, or the
    scheduler cannot be reached.

    Examples
    --------
    >>> with dask_client("nowhere") as client:  # doctest: +IGNORE_EXCEPTION_DETAIL
    ...     pass
    Traceback (most recent call last):
    optimizer.errors.OptimizerError: --scheduler must be 'local' or a scheduler address ...
    """
    if scheduler != "local" and not _ADDRESS.match(scheduler):
        raise error(f"--scheduler must be 'local' or a scheduler address like "
                    f"tcp://host:8786; got {scheduler!r}")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise error("--scheduler needs Dask: pip install 'carbonpark[dask]'") from None
    if scheduler == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise error(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    with client:
        yield client
