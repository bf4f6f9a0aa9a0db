"""Graph-cut Lagrangian solver for boundary-penalised problems (issue 6).

The boundary penalty has a cut form (DESIGN.md): with ``y_jk = min(x_j, x_k)`` the
compiled objective ``c_x x + c_y y`` equals ``sigma * (u x + sum_e w_e |x_j - x_k|)``
plus a constant, with ``sigma = +1`` for min and ``-1`` for max sense,
``w_e = -sigma c_y / 2`` and ``u = sigma (c_x + c_y/2 on both ends)``. When every
``w_e >= 0`` (`cut_form` checks it) minimising ``u x + w |dx|`` is an s-t minimum
cut, solved exactly by max-flow. Structural rows (budgets, targets) are relaxed
with Lagrange multipliers, so each multiplier vector costs one cut and gives a
proven bound.

* **One area budget, no other rows** (max utility + boundary): the multiplier
  ``lambda`` of the budget gives nested plans as it grows. A sweep of ``lambda``
  (divide and conquer: each interval is solved only on the units between its two
  nested plans, with the rest fixed, so a level of the sweep costs about one full
  cut) yields the nested *path*; the bracket around the budget is refined with the
  Eisner-Severance (Newton) step until the dual optimum (a breakpoint) is found;
  the leftover budget is filled with whole components of the difference between the
  breakpoint's two plans (each is a Lagrangian minimiser there, so the plan's gap is
  the breakpoint's multiplier times the area left unused), then greedily unit by
  unit. Models above ``path_units`` free units (1M) sweep only the intervals that
  hold the budget: at a 1 km national grid a cut costs seconds. ``info["path"]`` and per-unit
  ``info["unit_rank"]`` / ``info["unit_entry_lambda"]`` answer "what does budget B
  protect" instantly through `plan_for_budget`.
* **Targets and other rows** (min set, min shortfall, extra budgets): a box-step
  cutting-plane (bundle) method on the multipliers; the cutting-plane model is a
  tiny LP solved by HiGHS. Large models (200k+ units) start from the multipliers of
  the separable dual (the Lagrangian without the boundary, which needs no cut). The
  best Lagrangian value is a proven bound (equal to the LP bound of the linearised
  model: the cut subproblem's LP is integral).
  Primal side: repair-as-a-cut (raise only the violated multipliers until the cut
  meets every row), rounding of the averaged cut solutions, vectorised drop of
  redundant units and add of improving ones, and a HiGHS MIP polish on the
  undecided frontier, warm-started from the best plan.
* **Gap and time**: the solver stops as soon as the requested ``gap`` is proven;
  short of it, multiplier iterations go on until the dual is solved, then the
  polish MIP gets ``polish_share`` of the time left and a large-neighbourhood
  search (`optimizer.solvers.cut.lns`: connected windows around the plan's
  frontier re-solved by a warm-started HiGHS MIP, only strict improvements kept)
  uses the rest of ``time_limit`` (``lns_time`` without one) or stops when it
  stalls. The search never changes the bound (a window's MIP bound holds only for
  the window); the polish's does when it frees every unit.

Modules: `form` (the cut form and the ``auto`` test), `mincut` (max-flow),
`context` (`CutContext`: rows, clock and local moves shared by every step),
`path` (one budget: the parametric path, `plan_for_budget`), `lagrangian` (the
bundle method), `polish` (HiGHS MIP on the undecided units), `lns` (neighbourhood
search) and `solver` (`CutSolver`). Measured against HiGHS: the ``--cut`` table in
``benchmarks/bench_solve.py``.
"""

from optimizer.solvers.cut.form import AUTO_MAX_RELAXED_ROWS, CutForm, cut_form, has_cut_form
from optimizer.solvers.cut.path import plan_for_budget
from optimizer.solvers.cut.solver import CutSolver

__all__ = ["AUTO_MAX_RELAXED_ROWS", "CutForm", "CutSolver", "cut_form", "has_cut_form",
           "plan_for_budget"]
