"""The one way carbonpark reaches Dask: a client of a new LocalCluster or of a scheduler address.

Used by sweeps (`optimizer.studies.sweep`) and banded grid builds (``carbonpark grid --scheduler``).
Dask is optional (``pip install 'carbonpark[dask]'``) and imported only here, on first use.
An address is probed first (`check_scheduler`): a port that is closed, or that answers but is
not a Dask scheduler (its dashboard, any HTTP server), gets one line in seconds, not a hang.

Worker processes we start never outlive their driver: the sweep's local processes
(`worker_setup`, their initializer) and a LocalCluster's workers (`dask_setup`, their
preload) watch their parent (`exit_with_parent`) and exit when it is gone, even after a
``kill -9`` that gave it no time to stop them. Ctrl-C is the driver's alone: they ignore it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from optimizer.errors import OptimizerError

__all__ = ["check_scheduler", "check_workers", "dask_client", "dask_setup", "exit_with_parent",
           "map_tasks", "stop_pool", "worker_setup"]

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://")
#: ``host:port`` without a scheme (Dask reads it as tcp://); IPv6 hosts in brackets.
_BARE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[\w.\-]+):\d+$")
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:/\[\]]*))(?::(?P<port>\d+))?/?$")
#: Dask's default scheduler port; the dashboard (HTTP) is 8787.
DEFAULT_PORT = 8786
#: Seconds to connect to an address, and to wait for a scheduler's handshake.
PROBE_TIMEOUT = 5.0
#: States of a closing Dask server (`distributed.core.Status` names).
_CLOSING = ("closing", "closing_gracefully", "closed", "failed")
#: Seconds between two looks of a worker at its parent (`exit_with_parent`).
PARENT_POLL = 0.2
_HINT = ("give the scheduler's address (port 8786 by default, not the dashboard's 8787), "
         "or leave --scheduler out")


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``scheme://host[:port]``; None when it does not parse."""
    m = _HOST_PORT.match(address.split("://", 1)[1])
    if m is None:
        return None
    host = m.group("v6") or m.group("host") or ""
    return (host, int(m.group("port") or DEFAULT_PORT)) if host else None


def _looks_like_dask(first: bytes) -> bool:
    """True for the start of a Dask comm frame: a little-endian uint64 header length."""
    return len(first) >= 8 and 8 <= int.from_bytes(first[:8], "little") <= 1 << 20


def _greeting(data: bytes) -> str:
    """The first line a server sent, printable and short, for a message."""
    line = data.split(b"\n", 1)[0].strip().decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in line)[:60]


def _read_some(sock: socket.socket, want: int, deadline: float) -> bytes:
    """Up to ``want`` bytes from ``sock`` before ``deadline`` (fewer if it goes quiet or closes)."""
    data = b""
    while len(data) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(want - len(data))
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def check_scheduler(scheduler: str, *, error: type[OptimizerError] = OptimizerError,
                    timeout: float = PROBE_TIMEOUT) -> str:
    """Check a ``--scheduler`` value before any work; the address to give Dask.

    ``"local"`` is returned as is. An address (``tcp://host:8786``, or ``host:8786``, read as
    tcp://) must accept a connection within ``timeout`` seconds and, for tcp://, greet like a
    Dask scheduler (a Dask scheduler speaks first: its handshake frame). Nothing is sent to a
    server that greets; one that stays silent gets a plain HTTP request, to name what it is.

    Parameters
    ----------
    scheduler : str
        ``"local"`` or a scheduler address, as the user gave it.
    error : type of OptimizerError
        The exception to raise (the caller's, e.g. ``InputDataError``).
    timeout : float
        Seconds to connect, and again to wait for the handshake.

    Returns
    -------
    str
        ``"local"`` or the address with its scheme (``tcp://host:port``).

    Raises
    ------
    OptimizerError
        (``error``) One line naming the address: not an address, cannot be reached, or not
        a Dask scheduler, and the fix.

    Examples
    --------
    >>> check_scheduler("local")
    'local'
    >>> with socket.socket() as s:  # a free port: nothing listens there
    ...     s.bind(("127.0.0.1", 0))
    ...     port = s.getsockname()[1]
    >>> check_scheduler(f"127.0.0.1:{port}")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    optimizer.errors.OptimizerError: cannot reach the Dask scheduler at tcp://127.0.0.1:...: \
connection refused; start one with `dask scheduler`, or leave --scheduler out
    """
    if scheduler == "local":
        return scheduler
    if _BARE.match(scheduler):
        scheduler = f"tcp://{scheduler}"
    if not _ADDRESS.match(scheduler):
        raise error(f"--scheduler must be 'local' or a scheduler address like "
                    f"tcp://host:8786; got {scheduler!r}")
    scheme = scheduler.split("://", 1)[0]
    if scheme in ("inproc", "ucx"):
        return scheduler  # not TCP: Dask's own connect (with its timeout) checks these
    hp = _host_port(scheduler)
    if hp is None:
        raise error(f"--scheduler {scheduler}: not a host and port; give it like "
                    "tcp://host:8786")
    if not re.search(r":\d+/?$", scheduler):
        scheduler = f"{scheduler.rstrip('/')}:{hp[1]}"  # Dask needs the port; name it
    try:
        sock = socket.create_connection(hp, timeout=timeout)
    except TimeoutError:
        raise error(f"cannot reach the Dask scheduler at {scheduler}: no answer in "
                    f"{timeout:g} s (a firewall, or a wrong host); check the address, or "
                    "leave --scheduler out") from None
    except OSError as exc:
        why = ("connection refused" if isinstance(exc, ConnectionRefusedError)
               else (exc.strerror or str(exc)).lower())
        raise error(f"cannot reach the Dask scheduler at {scheduler}: {why}; start one with "
                    "`dask scheduler`, or leave --scheduler out") from None
    with sock:
        if scheme != "tcp":
            return scheduler  # tls/ws: the server waits for the client's handshake
        first = _read_some(sock, 8, time.monotonic() + timeout)
        if _looks_like_dask(first):
            return scheduler
        if first:
            first += _read_some(sock, 56, time.monotonic() + min(timeout, 0.5))  # its first line
            raise error(f"{scheduler}: this is not a Dask scheduler (it greeted with "
                        f"{_greeting(first)!r}); {_HINT}")
        with contextlib.suppress(OSError):
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
        reply = _read_some(sock, 64, time.monotonic() + timeout)
    if reply.startswith(b"HTTP/"):
        raise error(f"{scheduler}: this is not a Dask scheduler (it answered like an HTTP "
                    f"server: {_greeting(reply)!r}); {_HINT}")
    raise error(f"{scheduler}: this is not a Dask scheduler (it accepted the connection but "
                f"sent no Dask handshake in {timeout:g} s); {_HINT}")


class _Hush(logging.Filter):
    """A logging filter that drops every record while ``when()`` is true."""

    def __init__(self, when: Callable[[], bool]) -> None:
        super().__init__()
        self.when = when

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.when()


def _hush_distributed(when: Callable[[], bool]) -> Callable[[], None]:
    """Drop Dask's log records while ``when()``; the function that undoes it.

    Dask logs through handlers on its ``distributed*`` loggers (not propagated), so the
    filter goes on those handlers: it sees every record of every ``distributed.*`` logger.
    """
    hush = _Hush(when)
    names = [n for n in list(logging.Logger.manager.loggerDict)
             if n == "distributed" or n.startswith("distributed.")]
    handlers = {h for n in names for h in logging.getLogger(n).handlers}
    for h in handlers:
        h.addFilter(hush)

    def undo() -> None:
        for h in handlers:
            h.removeFilter(hush)
    return undo


def exit_with_parent(parent: int, *, poll: float = PARENT_POLL) -> threading.Thread:
    """Exit this process as soon as ``parent`` is no longer its parent process.

    A daemon thread looks at ``os.getppid()`` every ``poll`` seconds; when the parent is
    gone (killed, even by ``kill -9``, the process is given to another), it ends this
    process at once (``os._exit``: no cleanup that could hang; exit status 70). So a
    worker never stays behind, idle and holding its memory, when its driver dies; and
    once the driver and its workers are gone, the driver's ``multiprocessing`` resource
    tracker sees its pipe close and exits too.

    Parameters
    ----------
    parent : int
        The process id of the driver that started this process (its ``os.getpid()``).
    poll : float
        Seconds between two looks.

    Returns
    -------
    threading.Thread
        The watching thread (a daemon, started).

    Examples
    --------
    A process whose parent is not the one it was given exits at once:

    >>> import subprocess, sys
    >>> code = ("import time; from optimizer.distributed import exit_with_parent; "
    ...         "exit_with_parent(1); time.sleep(30)")
    >>> subprocess.run([sys.executable, "-c", code], timeout=20).returncode
    70
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(70)  # EX_SOFTWARE: the driver is gone

    thread = threading.Thread(target=watch, name="carbonpark-exit-with-parent", daemon=True)
    thread.start()
    return thread


def worker_setup(parent: int) -> None:
    """The initializer of a sweep's local worker processes: Ctrl-C is the driver's alone
    (the driver cancels the queued runs and ends its workers), and the worker exits when
    its driver ``parent`` dies (`exit_with_parent`).

    Examples
    --------
    >>> import subprocess, sys
    >>> code = ("import os, signal; from optimizer.distributed import worker_setup; "
    ...         "worker_setup(os.getppid()); "
    ...         "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    >>> print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
    ...                      timeout=20).stdout.strip())
    True
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)


#: Seconds `stop_pool` waits for a terminated worker before it kills it.
TERMINATE_WAIT = 1.0


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel a local pool's queued work and end its running work now: terminate the
    workers (a solve may take minutes), kill those that do not end within
    `TERMINATE_WAIT` seconds. Used on Ctrl-C or an error by sweeps and importance.

    Examples
    --------
    >>> import multiprocessing, time
    >>> pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    >>> running = pool.submit(time.sleep, 60)
    >>> stop_pool(pool)
    >>> running.done() or running.cancelled() or running.running()
    True
    """
    # The workers, before shutdown forgets them (the executor has no public list of them;
    # Python 3.14 adds terminate_workers()).
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.terminate()
    ends = time.monotonic() + TERMINATE_WAIT
    for p in procs:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.join(max(0.0, ends - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, run in each LocalCluster worker process as it starts: Ctrl-C is
    the driver's alone, and the worker exits when the driver dies (`exit_with_parent`).

    Ctrl-C in a terminal reaches every process of its group; a worker that took it died
    printing a traceback while the driver was already closing the cluster (which stops the
    workers). So the workers ignore it, and say nothing while they close (tasks cancelled by
    the closing cluster are no news). Workers of a cluster given by address are not ours.

    Examples
    --------
    >>> import signal
    >>> before = signal.getsignal(signal.SIGINT)
    >>> dask_setup(None)
    >>> signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    True
    >>> _ = signal.signal(signal.SIGINT, before)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if worker is not None:
        _hush_distributed(lambda: getattr(worker.status, "name", "") in _CLOSING)
        exit_with_parent(os.getppid())  # the driver, whose in-process nanny started us


def _end_workers(cluster: Any) -> None:
    """Terminate a LocalCluster's worker processes now: closing the cluster waits for a
    running task (a solve may take minutes) up to Dask's timeouts, Ctrl-C must not."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(nanny, "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


def check_workers(client: Any, *, wait: float = 5.0,
                  error: type[OptimizerError] = OptimizerError) -> int:
    """The number of workers of ``client``'s cluster; ``error`` (one line) naming the
    scheduler when it has none after waiting ``wait`` seconds for one to join.

    A scheduler without workers takes tasks and never runs them: a grid build or a sweep
    would wait forever, or fail on its first transfer with Dask's "No valid workers found".
    `dask_client` checks a remote scheduler with this before handing the client over.
    """
    workers = len(client.scheduler_info().get("workers", {}))
    if workers:
        return workers
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        address = getattr(client.scheduler, "address", None) or str(client)
        raise error(
            f"the Dask scheduler at {address} has no workers (none joined in {wait:g} s); "
            f"start some with `dask worker {address}`, or use --scheduler local") from None
    return max(len(client.scheduler_info().get("workers", {})), 1)


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int | None = None, *,
                error: type[OptimizerError] = OptimizerError) -> Iterator[Any]:
    """A ``dask.distributed.Client``: of a LocalCluster (``scheduler="local"``, ``workers``
    processes of one thread) or of the scheduler at an address (``tcp://host:8786``).

    Raises ``error`` (one line) when Dask is missing, the address is not one, or the
    scheduler cannot be reached, is not a Dask scheduler (`check_scheduler`) or has no
    workers (`check_workers`).

    Examples
    --------
    >>> with dask_client("nowhere") as client:  # doctest: +IGNORE_EXCEPTION_DETAIL
    ...     pass
    Traceback (most recent call last):
    optimizer.errors.OptimizerError: --scheduler must be 'local' or a scheduler address ...
    """
    scheduler = check_scheduler(scheduler, error=error)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise error("--scheduler needs Dask: pip install 'carbonpark[dask]'") from None
    if scheduler == "local":
        stopping = False  # an interrupt or error left the block: closing the cluster is no news
        undo = _hush_distributed(lambda: stopping)
        try:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0", preload=[__name__]) as cluster, \
                    Client(cluster) as client:
                try:
                    yield client
                except BaseException:
                    stopping = True
                    _end_workers(cluster)
                    raise
        finally:
            undo()
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, MemoryError) as exc:  # MemoryError: a reply read as a frame length
        why = " ".join(str(exc).split())[:120]
        raise error(f"cannot connect to the Dask scheduler at {scheduler} ({why}); "
                    f"{_HINT}") from None
    with client:
        check_workers(client, error=error)  # before any work: a sweep would wait forever
        yield client


# ============================================================== independent tasks

#: What `map_tasks` shares with the forked workers of the running map.
_TASK_SHARED: dict[str, Any] = {}


def _task_fork_init(parent: int, shared: dict[str, Any]) -> None:
    _TASK_SHARED.clear()
    _TASK_SHARED.update(shared)
    worker_setup(parent)


def _task_call(fn: Callable[[Any, dict[str, Any]], Any], key: Any) -> Any:
    return fn(key, _TASK_SHARED)


def map_tasks(fn: Callable[[Any, dict[str, Any]], Any], keys: Sequence[Any],
              shared: dict[str, Any], *, workers: int = 1, scheduler: str | None = None,
              error: type[OptimizerError] = OptimizerError,
              on_result: Callable[[Any], None] | None = None) -> list[Any]:
    """``fn(key, shared)`` for every key, here, on forked local processes or on Dask; the
    results in the order they end (``on_result`` hears each as it comes).

    ``shared`` (a model, say) is handed over once: inherited by forked workers (not
    pickled), scattered once to every Dask worker. ``fn`` is a module-level function.
    One process (``workers == 1`` or one key, no ``scheduler``) runs in this process. A
    failure or Ctrl-C stops the forked workers (`stop_pool`); ``error`` is raised (one line)
    when Dask is missing or the scheduler unreachable.

    Examples
    --------
    >>> def power(k, shared):
    ...     return k ** shared["p"]
    >>> sorted(map_tasks(power, [1, 2, 3], {"p": 2}))
    [1, 4, 9]
    """
    out: list[Any] = []

    def done(result: Any) -> None:
        out.append(result)
        if on_result is not None:
            on_result(result)

    if scheduler is not None:
        with dask_client(scheduler, workers, error=error) as client:
            from dask.distributed import as_completed as dask_as_completed  # optional

            [held] = client.scatter([shared], broadcast=True)
            for fut in dask_as_completed([client.submit(fn, k, held, pure=False)
                                          for k in keys]):
                done(fut.result())
        return out
    if workers == 1 or len(keys) <= 1:
        for k in keys:
            done(fn(k, shared))
        return out
    ctx = multiprocessing.get_context("fork")  # shared is inherited, not pickled
    pool = ProcessPoolExecutor(max_workers=min(workers, len(keys)), mp_context=ctx,
                               initializer=_task_fork_init, initargs=(os.getpid(), shared))
    try:
        for fut in as_completed([pool.submit(_task_call, fn, k) for k in keys]):
            done(fut.result())
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return out
