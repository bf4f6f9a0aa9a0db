"""A re-solve of the app in the background: its plan, its error, and its Stop."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optimizer.datasets import demo_grid
from optimizer.errors import InfeasibleProblemError
from optimizer.studies.background import SolveJob
from optimizer.studies.interactive import PlanSession, PlanSettings

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def pu():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_grid(40)


def test_a_job_gives_the_sessions_plan(pu) -> None:  # type: ignore[no-untyped-def]
    settings = PlanSettings(budget_share=0.08, compactness=0.5)
    job = SolveJob(PlanSession(pu), settings, tag="demo:40")
    assert job.wait(120) and job.error is None and job.tag == "demo:40"
    direct = PlanSession(pu).solve(settings)
    np.testing.assert_array_equal(job.result.x, direct.x)
    assert job.result.objective == pytest.approx(direct.objective)


def test_a_job_keeps_its_error_as_one_line(pu) -> None:  # type: ignore[no-untyped-def]
    job = SolveJob(PlanSession(pu), PlanSettings(budget_share=0.001))
    assert job.wait(120) and job.result is None
    assert isinstance(job.error, InfeasibleProblemError)
    assert "\n" not in str(job.error)


def test_a_stopped_job_ends_with_a_checked_plan_and_stops_only_itself(pu) -> None:  # type: ignore[no-untyped-def]
    session = PlanSession(pu)
    stopped = SolveJob(session, PlanSettings(budget_share=0.1, compactness=1.0))
    stopped.stop()
    assert stopped.wait(120) and stopped.stopped
    if stopped.error is None:  # the best plan it had: feasible, its objective recomputed
        r = stopped.result
        assert r.summary["new_km2"] <= 0.1 * float(pu.units["area_km2"].sum()) * (1 + 1e-9)
        assert r.objective == pytest.approx(r.summary["objective"])
    # another job of the same session is not stopped by it
    other = SolveJob(session, PlanSettings(budget_share=0.05))
    assert other.wait(120) and other.error is None and not other.stopped
    assert other.result.summary["status"] != "interrupted"
