"""Every code block of the README and docs/ runs or checks as written, and the numbers it quotes hold.

See `doc_snippets` for what each kind of block must do. Real-data python blocks run in
tests/realdata/test_real_readme.py.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from doc_snippets import (
    DOC_FILES,
    LANGUAGES,
    ROOT,
    Block,
    all_blocks,
    commands,
    python_pages,
    read_blocks,
    repo_like,
    run_python,
)
from helpers import shared_data

from optimizer.cli import build_parser

PAGES = python_pages(realdata=False)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch folder laid out like the repository, as the working folder."""
    work = repo_like(tmp_path, shared_data())
    monkeypatch.chdir(work)
    return work


# ================================================================ every block

def test_every_block_names_its_language_and_every_skip_gives_a_reason():
    blocks = all_blocks()
    assert len(blocks) > 30  # README and docs/ are read at all
    for b in blocks:
        assert b.lang in LANGUAGES, f"{b.name}: fence language {b.lang!r}; use one of {LANGUAGES}"
        if b.skip is not None:
            assert len(b.skip.split()) >= 3, f"{b.name}: snippet-skip needs a reason in words"
    for path in DOC_FILES:  # a skip marker must sit right above a fence
        text = path.read_text(encoding="utf-8")
        markers = len(re.findall(r"^\s*<!--\s*snippet-skip", text, flags=re.M))
        assert markers == sum(b.skip is not None for b in read_blocks(path)), path


def test_the_pages_with_python_are_the_ones_this_test_knows():
    assert set(PAGES) == set(CHECKS), "a page gained or lost python blocks: add its check below"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_python_blocks_run_in_order_and_quote_their_numbers(page, scratch, capsys):
    namespace: dict = {}
    for block in PAGES[page]:
        run_python(block, namespace)
    CHECKS[page](namespace, PAGES[page], scratch, capsys.readouterr().out)


def _readme(ns: dict, blocks: list[Block], work: Path, out: str) -> None:
    code = blocks[0].code
    pu, sol, parks = ns["pu"], ns["sol"], ns["parks"]
    assert len(pu) == 1488 and "1,488 planning units" in code
    assert "protected: 11.3% of the area" in repr(pu) and "11.3% already protected" in code
    assert re.fullmatch(r"within_gap \(proven gap [0-9.]+%, within the requested gap of 0\.1%\)",
                        sol.describe())
    assert sol.describe() in out
    first = parks.table.iloc[0]
    assert f"{len(parks.table)} parks" in code
    assert f"park 1: {first['area_km2']:,.0f} km², mostly {first['dominant_ecosystem']}" in code
    assert f"{first['species_in_range']} species" in code


def _your_data(ns: dict, blocks: list[Block], work: Path, out: str) -> None:
    pu = ns["pu"]
    assert len(pu) == 1488 and "# 1,488 units" in blocks[0].code
    assert "11.3% protected" in blocks[0].code and "protected: 11.3% of the area" in repr(pu)
    assert (work / "out" / "grid" / "units.parquet").exists()


def _plans(ns: dict, blocks: list[Block], work: Path, out: str) -> None:
    code, sol, rep, p = blocks[0].code, ns["sol"], ns["rep"], ns["p"]
    assert re.fullmatch(r"optimal \(proven gap 0\)|within_gap \(proven gap [0-9.]+%, within the "
                        r"requested gap of 0\.1%\)", sol.describe())
    before, after = rep.loc["biomass", ["share_before", "share_after"]]
    assert f"{before:.1%} -> {after:.1%} of biomass carbon" in code
    # compactness 0.5 is the break-even penalty, quoted (issue 21 §1)
    bp = p.boundary_penalty
    assert bp.compactness == 0.5 and f"break-even boundary penalty ({bp.penalty:.2g} per km)" in code
    assert "A conservation planning problem" in out and "boundary: compactness 0.5: " in out
    assert "carbon_stock × 0.5: biomass " in out  # every feature's effective weight
    imp = ns["imp"]  # replacement importance, quoted as % of the objective
    pct = imp.table.loc[imp.table["added"], "importance_pct"].tolist()
    imp_code = next(b.code for b in blocks if "importance(tiny" in b.code)
    assert f"# {pct[0]:.1f}% and {pct[1]:.1f}%" in imp_code
    assert (work / "out" / "importance" / "importance.csv").exists()
    pf = ns["pf"]  # the portfolio: % below the best, quoted
    pcts = pf.table["gap_to_best_pct"].round(1).tolist()
    pf_code = next(b.code for b in blocks if "portfolio(tiny" in b.code)
    assert pcts == [0.0, 14.3, 28.6] and "# 0%, 14.3% and 28.6% below the best" in pf_code
    assert pf.frequency["frequency"].round(3).tolist() == [1.0, 0.667, 0.0, 0.667, 0.667, 0.0]
    cost = next(b.code for b in blocks if "add_cost_budget" in b.code)  # the cost budget's block
    plan = ns["units"].units["pu_id"][ns["csol"].selected].tolist()
    assert plan == [2, 3, 4] and f"{plan}: unit 1 alone costs 900" in cost and f"{plan}\n" in out
    assert "750 of 800 spent" in cost and "750.0     800.0" in out
    zplan = ns["zplan"]  # zones: the plan and its objective, quoted
    zone_code = next(b.code for b in blocks if "solve_zones(zp" in b.code)
    assert zplan.zone_names().tolist() == ["core", "", "", "core", "general", ""]
    assert f"# {zplan.objective:.4f}: (80 + 0.5 x 60) / 290 MgC" in zone_code
    assert zplan.objective == pytest.approx((80 + 0.5 * 60) / 290)
    conn = next(b.code for b in blocks if "add_connectivity_penalty" in b.code)  # connectivity
    assert "[1, 2, 4] 2.0\n[1, 2, 4, 5] 4.0\n[1, 3, 5, 6]\n" in out
    assert "[1, 2, 4] keeps 2 km; then [1, 2, 4, 5], 4 km" in conn and "[1, 3, 5, 6]: 1 apart" in conn
    joined = ns["joined"]
    assert joined.info["park_cut_rounds"] >= 2 and ns["tgrid"].units["pu_id"][joined.selected].iloc[0] == 1


def _scenarios(ns: dict, blocks: list[Block], work: Path, out: str) -> None:
    code, f = blocks[-1].code, ns["f"]
    pts = f.points
    a, b = "carbon_stock_added_MgC", "mean_representation_pct"
    assert len(pts) == 11 and "11 plans" in code
    first, last, knee = pts.iloc[0], pts.iloc[-1], f.knee()
    for point in (first, last, knee):  # written as 2.68e9 MgC at 24.8%
        assert f"{point[a]:.2e} MgC at {point[b]:.1f}%".replace("e+0", "e") in code
    sg = f.single_goal()["loss_pct_of_optimum"]
    assert f"carbon first loses {sg.iloc[0]:.1f}% of the best representation" in code
    assert f"species first {sg.iloc[1]:.1f}% of the carbon" in code
    assert (work / "out" / "frontier" / "frontier.csv").exists()


def _parks(ns: dict, blocks: list[Block], work: Path, out: str) -> None:
    code, parks = blocks[0].code, ns["parks"]
    assert f"{len(parks.table)} parks of at least 5,000 km²" in code
    assert (parks.table["area_km2"] >= 5000).all()
    assert (work / "out" / "parks-gis" / "parks.gpkg").exists()
    curves, code = ns["curves"], blocks[1].code  # the performance curves
    rank = curves[curves["along"] == "rank"]
    stock = rank[rank["curve"] == "carbon_stock_total"].iloc[0]
    assert (f"{stock['held_pct']:.1f}% of the carbon stock at the start "
            f"({stock['area_pct']:.1f}% of the area)") in code
    at_30 = rank[rank["area_pct"] == 30].set_index("curve")["held_pct"]
    assert (f"{at_30['carbon_stock_total']:.1f}% and {at_30['mean_biodiversity']:.1f}% at 30%"
            in code)
    rep = ns["rep"].set_index("feature")
    assert np.allclose(rank[rank["area_pct"] == 30].set_index("curve").loc[rep.index, "held"],
                       rep["held_after"])


#: What each page's python blocks must show, beyond running.
CHECKS = {
    "README.md": _readme,
    "docs/guide/your-data.md": _your_data,
    "docs/guide/plans.md": _plans,
    "docs/guide/scenarios.md": _scenarios,
    "docs/guide/parks-exports-reports.md": _parks,
}


# ================================================================ toml

def _toml_id(b: Block) -> str:
    return b.name


@pytest.mark.parametrize("block", [b for b in all_blocks("toml") if b.skip is None], ids=_toml_id)
def test_toml_blocks_validate_as_what_they_are(block):
    from optimizer.inputs.layers import GridManifest
    from optimizer.scenario import Scenario
    from optimizer.studies.sweep import Sweep

    data = tomllib.loads(block.code)
    if "layers" in data:  # a grid manifest, paths relative to data/
        GridManifest.model_validate(data).layer_specs(ROOT / "data")
    elif "base" in data:  # a sweep file, beside the scenarios it names
        assert len(Sweep.from_dict(data, base_dir=ROOT / "scenarios").runs) > 1
    else:  # a scenario file, as in scenarios/
        Scenario.from_dict(data, base=ROOT / "scenarios", source=block.name)


# ================================================================ shell

SHELL = [b for b in all_blocks("sh") if b.skip is None]


@pytest.mark.parametrize("block", SHELL, ids=_toml_id)
def test_shell_blocks_parse_with_the_real_parser(block):
    parser = build_parser()
    lines = commands(block, "carbonpark")
    for argv in lines:
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version print and exit 0
            assert exc.code == 0, f"{block.name}: carbonpark {' '.join(argv)}"
        except Exception as exc:
            pytest.fail(f"{block.name}: `carbonpark {' '.join(argv)}` does not parse: {exc}")
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    makes = commands(block, "make")
    for argv in makes:
        assert set(argv) <= targets, f"{block.name}: make {' '.join(argv)}: no such target"
    pythons = commands(block, ".venv/bin/python")
    for argv in pythons:
        _check_python_line(block, argv)
    assert lines or makes or pythons, f"{block.name}: a shell block with no command we check"


def _check_python_line(block: Block, argv: list[str]) -> None:
    """A ``.venv/bin/python ...`` line: its files exist, its pytest markers are declared."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = {m.split(":")[0] for m in pyproject["tool"]["pytest"]["ini_options"]["markers"]}
    for i, word in enumerate(argv):
        if word.startswith(("tests/", "benchmarks/", "optimizer/")) or word.endswith(".py"):
            assert (ROOT / word.split("::")[0]).exists(), f"{block.name}: no such file {word}"
        if word == "-m" and i > 0 and argv[i - 1] != ".venv/bin/python" and i + 1 < len(argv):
            used = set(re.findall(r"\w+", argv[i + 1])) - {"and", "or", "not"}
            assert used <= markers, f"{block.name}: unknown marker(s) {used - markers}"


#: The fast commands that run, in this order, in a scratch folder (the rest only parse).
RUN = [
    "scenario schema",
    "scenario check scenarios/thirty_by_thirty.toml",
    "solve scenarios/balanced.toml --out out/balanced",
    "export out/balanced --out out/balanced-gis",
    "report out/balanced --out out/balanced.html",
]


def test_the_fast_commands_shown_run(scratch, capsys):
    from optimizer.cli import main

    shown = {" ".join(argv) for b in SHELL for argv in commands(b, "carbonpark")}
    for line in RUN:
        assert line in shown, f"`carbonpark {line}` is no longer shown in the docs: update RUN"
        assert main(line.split()) == 0, f"carbonpark {line}: {capsys.readouterr().err}"
    assert (scratch / "out" / "balanced" / "summary.json").exists()
    assert (scratch / "out" / "balanced-gis" / "parks.gpkg").exists()
    assert (scratch / "out" / "balanced.html").stat().st_size > 10_000


# ================================================================ timings

_TIMING = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:s|ms|seconds|min)\b(?![-\w])")
_SOURCE = re.compile(r"bench_\w+\.py|timing\s+`carbonpark|Timed\s+with")
_MACHINE = re.compile(r"2-core|2 cores")


def _sections(path: Path) -> list[tuple[str, str]]:
    """(heading, text) of every section, code blocks included."""
    parts = re.split(r"^(#{1,6} .*)$", path.read_text(encoding="utf-8"), flags=re.M)
    return [(parts[i - 1] if i else "(top)", parts[i]) for i in range(0, len(parts), 2)]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_quoted_timings_name_their_benchmark_and_machine(path):
    for heading, text in _sections(path):
        if _TIMING.search(text):
            where = f"{path.relative_to(ROOT)} {heading!r}: quotes {_TIMING.search(text).group()!r}"
            assert _SOURCE.search(text), f"{where} but names no benchmark (benchmarks/bench_*.py)"
            assert _MACHINE.search(text), f"{where} but names no machine (the 2-core ...)"


# ================================================================ links and names

def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_their_anchors_resolve(path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{path.relative_to(ROOT)}: link to {target}: no such file"
        if anchor:
            headings = re.findall(r"^#{1,6} (.*)$", dest.read_text(encoding="utf-8"), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, \
                f"{path.relative_to(ROOT)}: link to {target}: no such heading"


@pytest.mark.parametrize("path", [p for p in DOC_FILES if p.name != "CHANGELOG.md"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_dotted_optimizer_names_exist(path):
    """Every `optimizer.x.y` the page names is a module or a name in one (the CHANGELOG names old ones)."""
    for name in sorted(set(re.findall(r"\boptimizer(?:\.\w+)+", path.read_text(encoding="utf-8")))):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                assert hasattr(obj, attr), f"{path.relative_to(ROOT)} names {name}: no {attr!r}"
                obj = getattr(obj, attr)
            break


@pytest.mark.parametrize("path", [p for p in DOC_FILES if p.name != "CHANGELOG.md"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_repository_paths_named_exist(path):
    text = path.read_text(encoding="utf-8")
    named = re.findall(r"`((?:optimizer|tests|benchmarks|scenarios|data|docs)/[\w./-]*)`", text)
    # What runs write (caches, outputs) is in .gitignore: a clean clone does not have it yet.
    generated = [g.strip().rstrip("/") for g in (ROOT / ".gitignore").read_text().splitlines()
                 if g.strip() and "/" in g.strip().rstrip("/")]
    for name in sorted(set(named)):
        if "<" not in name and "*" not in name and not name.startswith(tuple(generated)):
            assert (ROOT / name).exists(), f"{path.relative_to(ROOT)} names {name}: no such path"
