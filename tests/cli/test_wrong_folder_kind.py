"""A folder of one command's output given to another says what it holds (issue 22: the
rule of naming the input): a grid given to ``export``, a solve folder given to ``gap``."""

from __future__ import annotations

from helpers import assert_one_line_error, box_grid, run_cli, tree_hash


def test_a_folder_of_the_wrong_kind_is_named_with_what_it_holds(tmp_path, capsys):
    from optimizer import write_grid

    grid = write_grid(box_grid(5, 5, seed=1, n_species=2), tmp_path / "grid")
    (tmp_path / "s.toml").write_text('schema_version = 1\n[grid]\npath = "grid"\n'
                                     '[budget]\nshare = 0.2\n', encoding="utf-8")
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert code == 0, err
    before = tree_hash(tmp_path)
    for args, says in [
        (["export", grid, "--out", tmp_path / "e"], "it holds carbonpark grid output"),
        (["report", grid, "--out", tmp_path / "r.html"], "it holds carbonpark grid output"),
        (["gap", tmp_path / "plan", "--out", tmp_path / "g"], "it holds carbonpark solve output"),
    ]:
        code, _, err = run_cli(args, capsys)
        assert_one_line_error(code, err, contains=says)
    assert tree_hash(tmp_path) == before
