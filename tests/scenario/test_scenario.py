"""Scenario files: validation messages, round trip, hash, the shipped examples, to_problem."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import box_grid

from optimizer import compile, problem
from optimizer.datasets import tiny_grid
from optimizer.errors import ScenarioError
from optimizer.scenario import Scenario, schema_reference, solve_scenario

ROOT = Path(__file__).resolve().parents[2]
# Scenario files; sweep_*.toml are sweep files (optimizer.studies.sweep, tests/test_sweep.py).
EXAMPLES = sorted(p for p in (ROOT / "scenarios").glob("*.toml") if not p.stem.startswith("sweep_"))
HEAD = 'schema_version = 1\n[grid]\npath = "g"\n'
BASE = HEAD + "[budget]\nkm2 = 1\n"


# ================================================================ one-line messages

@pytest.mark.parametrize(("text", "message"), [
    (HEAD + "[budget]\nshar = 0.1",
     "s.toml: [budget] unknown key 'shar'; did you mean 'share'?"),
    (BASE + "wieghts = 1", "s.toml: [budget] unknown key 'wieghts'"),
    ("wieghts = {}\n" + BASE, "s.toml: unknown top-level key 'wieghts'; did you mean 'weights'?"),
    (HEAD + "[budget]\nshare = 'ten'", "s.toml: [budget] share: expected a number; got 'ten'"),
    (HEAD + "[budget]\nkm2 = true", "s.toml: [budget] km2: expected a number; got true"),
    (HEAD + "[budget]\nkm2 = 1\nshare = 0.1",
     "s.toml: [budget] give one of km2, share or total_protection, not both; got km2 and share"),
    (HEAD + "[budget]\nshare = 1.5", "s.toml: [budget] share: must be <= 1; got 1.5"),
    ('schema_version = 2\n[grid]\npath = "g"',
     "s.toml: schema_version 2 is not supported; write schema_version = 1"),
    ('[grid]\npath = "g"', "s.toml: missing key 'schema_version'"),
    (BASE + "[objective]\nkind = 'max_utilty'",
     "s.toml: [objective] kind: expected one of 'max_utility', 'min_set' or 'min_shortfall'; "
     "got 'max_utilty'; did you mean 'max_utility'?"),
    (BASE + "[targets]\nrelative = 'x'",
     "s.toml: [targets] relative: expected a number or a table; got 'x'"),
    (BASE + "[targets]\nrelative = {carbon = 'x'}",
     "s.toml: [targets] relative.carbon: expected a number; got 'x'"),
    (BASE + "[[area_budgets]]\nregion = 'a'\nmax_km = 1",
     "s.toml: [area_budgets[1]] unknown key 'max_km'; did you mean 'max_km2' or 'min_km2'?"),
    (BASE + "[[area_budgets]]\nregion = 'a'\nmax_km2 = -1",
     "s.toml: [area_budgets[1]] max_km2: must be >= 0; got -1"),
    (BASE + "[penalties.boundary]\npenalty = 0.1\nshare = 0.1",
     "s.toml: [penalties.boundary] give one of compactness, penalty, share or calibrate, not "
     "both; got penalty and share"),
    (BASE + "[penalties.boundary]\nedge_factor = 1.0",
     "s.toml: [penalties.boundary] give one of compactness, penalty, share or calibrate"),
    (BASE + "[penalties.boundary]\nshare = 1.5", "s.toml: [penalties.boundary] share: must be < 1; got 1.5"),
    (BASE + "[penalties.boundary]\ncalibrate = 'cohen'",
     "s.toml: [penalties.boundary] calibrate: expected one of 'cohon'; got 'cohen'; did you mean 'cohon'?"),
    (BASE + "[[locks.above]]\ncolumn = 'co2_2020'",
     "s.toml: [locks.above[1]] missing key 'threshold'"),
    (BASE + "[solver]\nbackend = 'gurobi'",
     "s.toml: [solver] backend: expected highs, cut, auto or pulp:<solver name>; got 'gurobi'"),
    (BASE + "[solver]\nthreads = 1.5", "s.toml: [solver] threads: expected a whole number; got 1.5"),
    (HEAD, "s.toml: the max_utility objective needs a [budget] table"),
    (HEAD + "[objective]\nkind = 'min_set'", "s.toml: the min_set objective needs a [targets] table"),
    ('schema_version = 1\n[grid]\npath = "g"\nmanifest = "m.toml"\n[budget]\nkm2 = 1',
     "s.toml: [grid] give one of path or manifest, not both"),
    ('schema_version = 1\n[grid]\npath = "g"\ncell_km = 10\n[budget]\nkm2 = 1',
     "s.toml: [grid] cell_km applies to a grid built from `manifest`"),
    (BASE + "[[locks.locked_out]]\nlabel = 'x'", "s.toml: [locks.locked_out[1]] give one of column, ids or file"),
    (BASE + "budget = 5", "s.toml: [budget] unknown key 'budget'"),
    ("schema_version = 1\n[grid\n", "s.toml: not valid TOML"),
])
def test_schema_errors_are_one_line(text, message):
    with pytest.raises(ScenarioError) as info:
        Scenario.loads(text, source="s.toml")
    msg = str(info.value)
    assert msg.startswith(message), msg
    assert "\n" not in msg


@pytest.mark.parametrize(("extra", "message"), [
    ("[[area_budgets]]\nregion = 'west'\nmax_km2 = 1",
     "s.toml: [area_budgets[1]] region 'west' is not a region of this grid"),
    ("[weights]\ncarbn = 1", "s.toml: [weights] weights key 'carbn' is not a feature"),
    ("[[locks.above]]\ncolumn = 'co2'\nthreshold = 1", "s.toml: [locks.above[1]] column 'co2' is not"),
    ("[[locks.locked_in]]\nids = [99]", "s.toml: [locks.locked_in[1]] add_locked_in: ids [99]"),
    ("[[locks.locked_in]]\nids = [2]\n[[locks.locked_out]]\nids = [2]",
     "s.toml: [locks] 1 unit(s) are both locked in"),
])
def test_values_the_grid_rejects_name_the_file_and_table(extra, message):
    s = Scenario.loads(BASE + extra, source="s.toml")
    with pytest.raises(ScenarioError, match="^" + re.escape(message)):
        s.to_problem(tiny_grid())


def test_a_missing_file_a_folder_and_a_missing_grid(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        Scenario.load(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="is a folder"):
        Scenario.load(tmp_path)
    (tmp_path / "s.toml").write_text(BASE)
    with pytest.raises(ScenarioError, match=r"\[grid\] path 'g' does not exist \(looked for .+/g\)"):
        Scenario.load(tmp_path / "s.toml").load_grid()


# ================================================================ round trip and hash

VARIED = [
    BASE,
    HEAD + "[budget]\ntotal_protection = 0.3\n[weights]\ncarbon = 1\nbiodiversity = 0.5\n",
    HEAD + "[objective]\nkind = 'min_set'\n[targets]\nrelative = 0.3\n",
    HEAD + "[objective]\nkind = 'min_shortfall'\n[budget]\nshare = 0.1\n[targets]\n"
    "relative = {sp_a = 0.5}\nabsolute = {sp_b = 1.5}\n[weights]\nsp_a = 2\n",
    BASE + "[[area_budgets]]\nregion = 'south'\nmax_km2 = 1\n[[area_budgets]]\n"
    "land_cover = 'forest'\nmin_km2 = 0.5\nmax_share = 0.9\n",
    BASE + "[locks]\nexisting = false\npa_threshold = 0.7\n[[locks.locked_in]]\nids = [3]\n"
    "[[locks.locked_out]]\ncolumn = 'x'\nlabel = 'mask'\n[[locks.land_cover_out]]\n"
    "land_cover = 'cropland'\nunit_share = 0.25\n[[locks.above]]\ncolumn = 'sp_a'\n"
    "threshold = 0.5\nper_km2 = true\n",
    BASE + "[penalties.boundary]\npenalty = 0.1\nedge_factor = 0.5\n[[penalties.linear]]\n"
    "column = 'sp_a'\npenalty = -2.5\n[solver]\nbackend = 'pulp:PULP_CBC_CMD'\ngap = 0.01\n"
    "time_limit = 5\nthreads = 2\n",
    BASE + "[penalties.boundary]\nshare = 0.1\n",
    BASE + "[penalties.boundary]\ncalibrate = 'cohon'\nedge_factor = 0.5\n",
    'schema_version = 1\nname = "n"\ndescription = """two\nlines"""\n[grid]\n'
    'manifest = "../m.toml"\ncell_km = 12.5\ncache = "c"\n[budget]\nkm2 = 1e6\n',
]


@pytest.mark.parametrize("text", VARIED)
def test_scenario_to_toml_to_scenario_is_the_identity(text, tmp_path):
    s = Scenario.loads(text)
    back = Scenario.loads(s.dumps())
    assert back == s and back.model_dump() == s.model_dump()
    s.dump(tmp_path / "s.toml")
    assert Scenario.load(tmp_path / "s.toml").model_dump() == s.model_dump()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_examples_round_trip(path):
    s = Scenario.load(path)
    assert Scenario.loads(s.dumps()).model_dump() == s.model_dump()


@pytest.fixture
def grid_folder(tmp_path):
    from optimizer import write_grid

    return write_grid(tiny_grid(), tmp_path / "grid")


def test_the_hash_ignores_order_whitespace_and_names_but_not_values_or_the_grid(grid_folder, tmp_path):
    text = ('schema_version = 1\nname = "a"\n[grid]\npath = "grid"\n[budget]\nkm2 = 2\n'
            '[weights]\ncarbon = 1\nsp_a = 0.5\n')
    reordered = ('# a comment\n\nschema_version=1\nname="b"\ndescription = "other words"\n'
                 '[weights]\nsp_a   = 0.50\ncarbon = 1.0\n\n[budget]\nkm2=2\n[grid]\npath="grid"\n')
    a = Scenario.loads(text, base=tmp_path)
    assert a.hash == Scenario.loads(reordered, base=tmp_path).hash
    assert len(a.hash) == 64
    assert a.hash != Scenario.loads(text.replace("km2 = 2", "km2 = 3"), base=tmp_path).hash
    assert a.hash != Scenario.loads(text.replace("sp_a = 0.5", "sp_a = 0.6"), base=tmp_path).hash
    # the same content in another folder: same hash; another grid: another hash
    other = tmp_path / "elsewhere"
    shutil.copytree(grid_folder, other / "grid")
    assert Scenario.loads(text, base=other).hash == a.hash
    pu = tiny_grid()
    pu.units.loc[0, "carbon"] += 1
    from optimizer import write_grid

    write_grid(pu, other / "grid", overwrite=True)
    assert Scenario.loads(text, base=other).hash != a.hash


def test_a_grid_built_from_a_manifest_is_cached_by_content_hash(tmp_path):
    from optimizer.scenario.build import grid_hash

    text = (f'schema_version = 1\n[grid]\nmanifest = "{ROOT / "data" / "demo.toml"}"\n'
            'cell_km = 150\n[budget]\nshare = 0.1\n')
    (tmp_path / "s.toml").write_text(text)
    s = Scenario.load(tmp_path / "s.toml")
    with pytest.warns(Warning):
        pu = s.load_grid()
    cached = list((tmp_path / ".carbonpark-cache").iterdir())
    assert [c.name for c in cached] == [f"grid-{grid_hash(s)[:16]}"]
    again = s.load_grid()  # read from the cache: no build, no warnings
    assert again.equals(pu)
    other = Scenario.loads(text.replace("cell_km = 150", "cell_km = 160"), base=tmp_path)
    assert other.hash != s.hash


def test_a_manifest_edited_while_the_process_runs_changes_the_hash(tmp_path):
    """Manifests are read once per process for hashing (a 10,000-run sweep read one 10,000
    times); an edit to the file must still change the hash."""
    import shutil

    shutil.copytree(ROOT / "data" / "demo", tmp_path / "demo")
    manifest = tmp_path / "demo.toml"
    text = (ROOT / "data" / "demo.toml").read_text(encoding="utf-8")
    manifest.write_text(text, encoding="utf-8")
    scenario = Scenario.loads('schema_version = 1\n[grid]\nmanifest = "demo.toml"\n'
                              'cell_km = 150\n[budget]\nshare = 0.1\n', base=tmp_path)
    before = scenario.hash
    assert scenario.hash == before
    # The same layer file declared in another unit: a different grid.
    manifest.write_text(text.replace('unit = "gC/m2/yr"', 'unit = "kgC/m2/yr"', 1),
                        encoding="utf-8")
    assert scenario.hash != before


# ================================================================ to_problem == the add_* chain

def _same_model(a, b):
    ca, cb = compile(a), compile(b)
    for name in ("c", "row_lower", "row_upper", "col_lower", "col_upper", "integrality"):
        va, vb = getattr(ca, name), getattr(cb, name)
        assert np.array_equal(np.asarray(va), np.asarray(vb)), name
    assert (sp.csr_matrix(ca.A) != sp.csr_matrix(cb.A)).nnz == 0
    assert repr(a) == repr(b)


def test_to_problem_equals_the_hand_written_chain():
    pu = tiny_grid()
    s = Scenario.loads(HEAD + """
[budget]
km2 = 3
[weights]
carbon = 1
sp_a = 0.5
[targets]
relative = { sp_b = 0.5 }
[[area_budgets]]
region = "south"
max_km2 = 2
[locks]
pa_threshold = 0.6
[[locks.locked_out]]
ids = [6]
[penalties.boundary]
penalty = 0.01
edge_factor = 0.5
[[penalties.linear]]
column = "sp_a"
penalty = 0.1
""")
    hand = (problem(pu).add_existing_protection(pa_threshold=0.6)
            .add_max_utility_objective(budget_km2=3, weights={"carbon": 1, "sp_a": 0.5})
            .add_relative_targets({"sp_b": 0.5})
            .add_area_budget(region="south", max_km2=2)
            .add_locked_out(ids=[6])
            .add_boundary_penalty(0.01, 0.5)
            .add_linear_penalty("sp_a", 0.1))
    _same_model(s.to_problem(pu), hand)


def test_min_set_and_total_protection_read_as_the_chain():
    pu = tiny_grid()
    s = Scenario.loads(HEAD + "[objective]\nkind = 'min_set'\n[targets]\nabsolute = {sp_b = 2}\n")
    _same_model(s.to_problem(pu), problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2}))
    s = Scenario.loads(HEAD + "[budget]\ntotal_protection = 0.5\n[weights]\ncarbon = 1\n")
    p0 = problem(pu)
    held = float((p0.protected_fraction * p0.area_km2).sum())
    want = p0.add_max_utility_objective(0.5 * p0.study_area_km2 - held, weights={"carbon": 1})
    _same_model(s.to_problem(pu), want)


def test_schema_reference_lists_every_key():
    from optimizer.scenario.models import TABLES

    text = schema_reference()
    for model in TABLES:
        for key, field in model.model_fields.items():
            assert f"  {key} " in text and (field.description or "") in text


# ================================================================ the shipped examples

@pytest.fixture(scope="module")
def demo40():
    from optimizer.grid.manifest import build_grid_from_manifest

    return build_grid_from_manifest(ROOT / "data" / "demo.toml", cell_km=40, progress=False)


@pytest.fixture(scope="module")
def solved(demo40):
    out = {}
    for path in EXAMPLES:
        s = Scenario.load(path)
        p = s.to_problem(demo40)
        out[path.stem] = (s, p, solve_scenario(s, demo40))
    return out


def test_the_examples_are_the_six_documented_ones():
    assert {p.stem for p in EXAMPLES} == {"carbon_first", "biodiversity_first", "balanced",
                                          "nbs_balanced", "thirty_by_thirty", "carbon_parks"}
    for path in EXAMPLES:
        s = Scenario.load(path)
        assert s.grid.manifest == "../data/demo.toml" and s.grid.cell_km == 40
        assert s.solver.gap == 1e-3 and s.solver.time_limit and s.description
        assert path.read_text().startswith("#")  # each says which question it answers


def _carbon_per_km2(p, x):
    new = x & ~p.existing_protection_mask()
    stock = (p.pu.units["biomass"] + p.pu.units["soc"]).to_numpy()
    return stock[new].sum() / p.area_km2[new].sum()


def test_every_example_solves_within_its_budget(solved):
    for name, (_, p, sol) in solved.items():
        assert sol.is_optimal and sol.gap <= 1e-3, name
        budget = p.total_budget().max_km2
        assert (sol.selected * p.unprotected_km2).sum() <= budget * (1 + 1e-9), name
        assert sol.runtime < 30, name


def test_thirty_by_thirty_brings_protection_to_30_percent(solved):
    _, p, sol = solved["thirty_by_thirty"]
    held = float((p.protected_fraction * p.area_km2).sum())
    total = held + float((sol.selected * p.unprotected_km2).sum())
    assert 0.3 * p.study_area_km2 - p.area_km2.max() <= total <= 0.3 * p.study_area_km2 + 1e-6


def test_carbon_examples_hold_more_carbon_per_km2_than_balanced(solved):
    per = {n: _carbon_per_km2(p, sol.selected) for n, (_, p, sol) in solved.items()}
    assert per["carbon_parks"] > per["balanced"]
    assert per["carbon_first"] > per["balanced"] > 0


def test_carbon_parks_keeps_its_biodiversity_floor(solved):
    from optimizer.plan.results import feature_representation

    _, p, sol = solved["carbon_parks"]
    rep = feature_representation(p, sol)
    bio = rep[rep["feature"].isin(p.resolve_features("biodiversity"))]
    assert len(bio) == 37 and bio["met"].all()


def test_biodiversity_first_holds_more_species_range_than_carbon_first(solved):
    def held(name):
        _, p, sol = solved[name]
        cols = [c for c in p.resolve_features("biodiversity") if c.startswith("sp_")]
        share = p.feature_amounts(cols) * np.where(sol.selected, 1.0, p.protected_fraction)
        return (share.sum(axis=1) / p.feature_totals(cols)).mean()

    assert held("biodiversity_first") > held("carbon_first")


def test_nbs_balanced_keeps_cropland_out_and_represents_every_ecosystem(solved):
    from optimizer.plan.results import feature_representation

    _, p, sol = solved["nbs_balanced"]
    units = p.pu.units
    cropland = (units["lc_cropland_km2"] / units["area_km2"]).to_numpy() > 0.5
    new = sol.selected & ~p.existing_protection_mask()
    assert cropland.sum() > 0 and not (new & cropland).any()
    rep = feature_representation(p, sol).set_index("feature")
    for lc in ("lc_forest_km2", "lc_grassland_km2", "lc_wetland_km2"):
        assert rep.loc[lc, "met"]
    for lc in ("lc_forest_km2", "lc_grassland_km2", "lc_wetland_km2"):  # new land of each
        assert (units[lc].to_numpy() * new).sum() > 0, lc
    # compact parks and less emitting land than the same plan without those terms
    _, pb, balanced = solved["balanced"]
    co2 = units["co2_2020"].to_numpy()
    assert (co2 * new).sum() < (co2 * (balanced.selected & ~pb.existing_protection_mask())).sum()


@pytest.mark.parametrize("how", ["share = 0.2", "calibrate = 'cohon'"])
def test_a_boundary_penalty_given_as_a_share_or_calibrated_is_found_by_solving(how):
    from optimizer.plan.calibration import calibrate_boundary_penalty, penalty_for_share
    from optimizer.plan.results import boundary_length, solve

    pu = box_grid(6, 6, seed=2, n_species=3)
    s = Scenario.loads(HEAD + "[budget]\nkm2 = 8\n[weights]\ncarbon = 1\nbiodiversity = 1\n"
                       f"[penalties.boundary]\n{how}\n[solver]\nbackend = 'highs'\ngap = 0.0\n")
    p = s.to_problem(pu)
    base = s.model_copy(update={"penalties": s.penalties.model_copy(update={"boundary": None})})
    expected = (penalty_for_share(base.to_problem(pu), 0.2, solver="highs", gap=0.0) if "share" in how
                else calibrate_boundary_penalty(base.to_problem(pu), curve=False, solver="highs",
                                                gap=0.0))
    assert p.boundary_penalty.penalty == pytest.approx(expected.penalty, rel=1e-9)
    if "share" in how:
        sol = solve(p, gap=0.0)
        edge = float(boundary_length(p, sol).iloc[1]["boundary_km"])
        utility = sol.objective + p.boundary_penalty.penalty * edge
        assert p.boundary_penalty.penalty * edge / utility == pytest.approx(0.2, rel=0.1)
    assert "calibrated" in s.describe()
