"""Uploaded grid zips (`optimizer.app.uploads`), as a careless or hostile user sends them:
split-member zip bombs, zips whose declared sizes lie, damaged zips, two grid folders, and an
upload replaced or abandoned. Every refusal is one line naming the upload, and leaves no
folder of ours behind in the temporary folder (issue 22 item 4)."""

from __future__ import annotations

import gc
import io
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest

from optimizer.app import uploads  # needs no Streamlit: only the Data page's test does
from optimizer.errors import InputDataError

MIB = 1024**2


@pytest.fixture(autouse=True)
def _own_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Temporary folders (`tempfile.mkdtemp`) go to ``tmp_path/tmp``, to count what is left."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path / "tmp"


def _left(tmp_path: Path) -> list[str]:
    """Everything left in the temporary folder."""
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


def _handmade_zip(members: list[tuple[str, bytes]], *, declared: dict[str, int] | None = None) -> bytes:
    """A zip of DEFLATE members built by hand (each distinct content compressed once), with
    the uncompressed size the directory declares for a member overridden by ``declared``."""
    declared = declared or {}
    cache: dict[bytes, tuple[bytes, int]] = {}
    body, central = io.BytesIO(), io.BytesIO()
    for name, data in members:
        if data not in cache:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            cache[data] = (comp.compress(data) + comp.flush(), zlib.crc32(data))
        packed, crc = cache[data]
        size = declared.get(name, len(data))
        raw = name.encode()
        offset = body.tell()
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(packed),
                               size, len(raw), 0) + raw + packed)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                                  len(packed), size, len(raw), 0, 0, 0, 0, 0o100644 << 16, offset)
                      + raw)
    n = len(members)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, central.tell(), body.tell(), 0)
    return body.getvalue() + central.getvalue() + end


def _split_bomb(n: int) -> bytes:
    """``n`` members of 1 MiB of zeros each, in a grid folder (the issue's 1.1 MB zip that
    unpacked 630 MB)."""
    return _handmade_zip([("grid/units.parquet", b"PAR1")]
                         + [(f"grid/pad/{i:05d}.bin", bytes(MIB)) for i in range(n)])


def _no_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was unpacked")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def _count_unpacked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the bytes read out of the zip's members (the bytes unpacked)."""
    read = [0]
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, *args: object, **kwargs: object) -> object:
        f = real_open(self, *args, **kwargs)  # type: ignore[arg-type]
        real_read = f.read

        def read_(n: int = -1) -> bytes:
            chunk = real_read(n)
            read[0] += len(chunk)
            return chunk

        f.read = read_  # type: ignore[method-assign]
        return f

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    return read


def test_split_member_zip_bomb_is_refused_before_unpacking(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """630 members of 1 MiB of zeros (each under the old per-member ratio rule's 1 MiB) in a
    0.7 MB zip: refused on the overall ratio before a byte is unpacked, nothing left."""
    data = _split_bomb(630)
    assert len(data) < 1.2 * MIB
    _no_extraction(monkeypatch)
    with pytest.raises(InputDataError) as err:
        uploads.receive_upload(data, "bomb.zip")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("bomb.zip: refused, it unpacks to ")
    assert "times its size" in msg and "zip bomb" in msg and "carbonpark grid" in msg
    assert _left(tmp_path) == []


def test_split_member_zip_bomb_over_the_byte_budget_is_refused_before_unpacking(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A split bomb declaring 4 times the byte budget (the budget made 64 MiB to keep the
    test small): refused on the declared total, nothing unpacked, nothing left."""
    monkeypatch.setattr(uploads, "MAX_UNPACKED_BYTES", 64 * MIB)
    monkeypatch.setattr(uploads, "MAX_RATIO", 10**9)  # the budget alone
    data = _split_bomb(256)
    _no_extraction(monkeypatch)
    with pytest.raises(InputDataError, match=r"^bomb\.zip: refused, it unpacks to 256\.0 MiB "
                                             r"\(at most 64\.0 MiB\)"):
        uploads.receive_upload(data, "bomb.zip")
    assert _left(tmp_path) == []


def test_the_old_entry_point_refuses_the_split_bomb_and_leaves_its_folder_empty(
        tmp_path: Path) -> None:
    """`unpack_grid_zip` (what the app called) on the issue's bomb: refused, its folder gone."""
    dest = tmp_path / "tmp" / "dest"
    dest.mkdir()
    with pytest.raises(InputDataError, match="zip bomb"):
        uploads.unpack_grid_zip(_split_bomb(630), dest, "bomb.zip")
    assert _left(tmp_path) == []


def test_a_zip_whose_sizes_lie_is_stopped_while_unpacking(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """With the checks on the declared sizes off (as if every size were a lie) and a 8 MiB
    budget, 40 MiB of members are stopped at the budget and nothing is left."""
    monkeypatch.setattr(uploads, "MAX_UNPACKED_BYTES", 8 * MIB)
    monkeypatch.setattr(uploads, "_check_declared", lambda infos, packed, name: 10**12)
    read = _count_unpacked(monkeypatch)
    with pytest.raises(InputDataError) as err:
        uploads.receive_upload(_split_bomb(40), "liar.zip")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("liar.zip: refused, it unpacks to more than it declares")
    assert read[0] <= 8 * MIB + MIB  # at most one chunk past the budget was read, none written
    assert _left(tmp_path) == []


def test_a_zip_declaring_a_smaller_size_than_it_holds_is_refused(tmp_path: Path) -> None:
    """A directory patched to declare 1 KiB for a 10 MiB member: refused, nothing left."""
    data = _handmade_zip([("grid/units.parquet", b"PAR1"), ("grid/big.bin", bytes(10 * MIB))],
                         declared={"grid/big.bin": 1024})
    with pytest.raises(InputDataError, match=r"^liar\.zip: the zip is damaged .*zip the grid folder again"):
        uploads.receive_upload(data, "liar.zip")
    assert _left(tmp_path) == []


def test_a_zip_refused_half_way_leaves_nothing(tmp_path: Path) -> None:
    """Two members unpacked, the third damaged (a flipped byte, a bad CRC): the upload is
    refused and its partly unpacked files are removed with its folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("grid/units.parquet", b"PAR1" * 1000)
        zf.writestr("grid/features.parquet", b"PAR1" * 1000)
        zf.writestr("grid/boundary.parquet", b"B" * 4000)
    data = bytearray(buf.getvalue())
    at = data.index(b"B" * 4000)
    data[at + 10] = ord("C")
    with pytest.raises(InputDataError, match=r"^broken\.zip: the zip is damaged"):
        uploads.receive_upload(bytes(data), "broken.zip")
    assert _left(tmp_path) == []


@pytest.mark.parametrize(("members", "words"), [
    (["a/units.parquet", "b/units.parquet"], "2 grid folders ('a/', 'b/')"),
    (["units.parquet", "old/units.parquet"], "2 grid folders (the zip's root, 'old/')"),
])
def test_a_zip_of_two_grid_folders_is_refused(tmp_path: Path, members: list[str], words: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in members:
            zf.writestr(m, b"PAR1")
    with pytest.raises(InputDataError) as err:
        uploads.receive_upload(buf.getvalue(), "two.zip")
    assert str(err.value) == (f"two.zip: refused, it holds {words}; zip one grid folder and "
                              "upload that")
    assert _left(tmp_path) == []


def test_paths_out_of_the_folder_and_links_are_refused(tmp_path: Path) -> None:
    for name, what in [("../../evil.txt", "a path outside its folder"),
                       ("/etc/evil.txt", "a path outside its folder"),
                       ("C:/evil.txt", "a path outside its folder")]:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("grid/units.parquet", b"PAR1")
            zf.writestr(name, b"x")
        with pytest.raises(InputDataError, match=f"^evil.zip: refused, the zip holds {what}"):
            uploads.receive_upload(buf.getvalue(), "evil.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("grid/units.parquet", b"PAR1")
        link = zipfile.ZipInfo("grid/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(InputDataError, match="a symbolic link"):
        uploads.receive_upload(buf.getvalue(), "evil.zip")
    assert _left(tmp_path) == []
    assert not (tmp_path / "evil.txt").exists()


def test_an_accepted_upload_is_removed_when_replaced_and_when_its_session_ends(
        tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("grid/units.parquet", b"PAR1")
    session: dict[str, object] = {}
    first, grid = uploads.receive_upload(buf.getvalue(), "first.zip")
    assert grid == first.path.resolve() / "grid" and (grid / "units.parquet").is_file()
    uploads.keep_upload(session, first)
    second, _ = uploads.receive_upload(buf.getvalue(), "second.zip")
    uploads.keep_upload(session, second)  # a new upload replaces it
    assert not first.path.exists()
    assert _left(tmp_path) == [second.path.name]
    uploads.keep_upload(session, None)  # the demo or a folder replaces it
    assert _left(tmp_path) == []
    third, _ = uploads.receive_upload(buf.getvalue(), "third.zip")
    uploads.keep_upload(session, third)
    del third
    session.clear()  # the session ends: its state is dropped
    gc.collect()
    assert _left(tmp_path) == []


def test_data_page_upload_refused_replaced_and_left(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    """On the Data page: a good upload is loaded; a split bomb and a zip whose grid cannot be
    read are each one message, leave no folder and keep the grid in use; a new upload
    removes the folder of the one it replaces; choosing the demo removes the last one."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from optimizer.app.common import _demo_pu
    from optimizer.grid.store import write_grid

    monkeypatch.setenv("CARBONPARK_APP_CELL_KM", "40")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    grid = write_grid(_demo_pu(40.0), tmp_path / "grid")
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in grid.iterdir():
            zf.write(f, f"grid/{f.name}")
    corrupt = io.BytesIO()
    with zipfile.ZipFile(corrupt, "w") as zf:
        zf.writestr("grid/units.parquet", b"PAR1 this is not parquet")
    script = ("import matplotlib\nmatplotlib.use('Agg')\nimport streamlit as st\n"
              "from optimizer.app.common import guarded\n"
              "from optimizer.app.data_page import data_page\nguarded(st, data_page)()\n")
    at = AppTest.from_string(script, default_timeout=180).run()

    def ours() -> list[Path]:
        return sorted((tmp_path / "tmp").glob(f"{uploads.UPLOAD_PREFIX}*"))

    def upload(name: str, data: bytes) -> list[str]:
        at.file_uploader(key="grid_zip").set_value((name, data, "application/zip")).run()
        at.button(key="load_zip").click().run()
        assert not at.exception, [e.value for e in at.exception]
        return [e.value for e in at.error]

    at.radio(key="data_kind").set_value("Upload a zipped grid folder").run()
    assert upload("good.zip", good.getvalue()) == []
    assert at.metric[0].value == "1,488 units"
    [first] = ours()
    assert at.success[0].value == f"Grid in use: {first.resolve() / 'grid'}"
    [msg] = upload("bomb.zip", _split_bomb(630))
    assert "\n" not in msg and "bomb.zip: refused, it unpacks to" in msg
    [msg] = upload("corrupt.zip", corrupt.getvalue())
    assert msg.startswith("corrupt.zip: grid files are unreadable or incomplete"), repr(msg)
    assert "\n" not in msg, repr(msg)
    assert ours() == [first]  # the refused uploads left nothing; the grid in use stays
    assert at.success[0].value == f"Grid in use: {first.resolve() / 'grid'}"
    assert upload("again.zip", good.getvalue()) == []
    [second] = ours()
    assert second != first and not first.exists()
    at.radio(key="data_kind").set_value("Demo country").run()
    at.button(key="use_demo").click().run()
    assert at.metric[0].value == "1,488 units" and ours() == []
