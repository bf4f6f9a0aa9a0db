"""A re-solve of the app in a background thread: its stage, a Stop, its plan.

The app starts a `SolveJob` when a plan is due and keeps drawing: the page shows the
job's stage (`optimizer.studies.interactive.STAGE_TEXT`) and seconds, and its Stop button
calls `SolveJob.stop`, which asks this solve alone to stop as Ctrl-C does
(`optimizer.solvers.base.solve_scope`: every stage treats it as its time limit reached
now), so the job ends with the best plan it has and its proven gap.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from optimizer.solvers.base import solve_scope

__all__ = ["SolveJob"]


class _Scope:
    """The solve's own channel (`solve_scope`): a stop event; plans and bounds heard are
    not needed (the solver returns its best)."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def report(self, model: Any, values: Any, bound: Any) -> None:
        return None

    def offered(self, model: Any) -> None:
        return None


class SolveJob:
    """``session.solve(settings)`` in a daemon thread.

    Parameters
    ----------
    session : PlanSession
    settings : PlanSettings
    tag : object
        What the job is for (the app's grid key), kept as ``tag``.

    Examples
    --------
    >>> from optimizer.datasets import demo_grid
    >>> from optimizer.studies.interactive import PlanSession, PlanSettings
    >>> job = SolveJob(PlanSession(demo_grid(40)), PlanSettings(budget_share=0.05))
    >>> job.stage
    'cut solve'
    >>> job.wait(60), job.error is None, job.result.settings.budget_share
    (True, True, 0.05)
    """

    def __init__(self, session: Any, settings: Any, tag: Any = None) -> None:
        self.session, self.settings, self.tag = session, settings, tag
        self.stage = session.next_stage(settings)
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.stopped = False
        self._scope = _Scope()
        self._thread = threading.Thread(target=self._run, name="carbonpark-solve", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with solve_scope(self._scope):
                self.result = self.session.solve(self.settings)
        except Exception as exc:  # handed to the page, shown as one line
            self.error = exc
        finally:
            self.finished = time.perf_counter()

    @property
    def done(self) -> bool:
        """Whether the solve has ended (with a plan or an error)."""
        return not self._thread.is_alive()

    @property
    def seconds(self) -> float:
        """Seconds since the start (to the end once done)."""
        return (self.finished or time.perf_counter()) - self.started

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the end; whether it ended."""
        self._thread.join(max(0.0, seconds))
        return self.done

    def stop(self) -> None:
        """Ask the solve to stop now and keep its best plan."""
        self.stopped = True
        self._scope.stop.set()
