"""Reading a file without holding it in memory: the CSV fast path scans, hashes and counts the
file in pieces, and must find what the whole bytes would have shown (a quote character far into
the file, the lines without the blank ones at the end, the same sha256)."""

from __future__ import annotations

import hashlib

import pytest
from corpus import uscc

from shanhai.ingest import import_file
from shanhai.ingest import read as _read

CONTENTS = [b"", b"\n", b"\n\n\r\n", b"a", b"a\n", b"a\nb", b"a\r\nb\r\n", b"\na\n", b"a\nb\n\n\r\n",
            b"a\n\n\nb\n\r\n\r\n\n", "年份,收入\n2023,1\n".encode(), b"x" * 10 + b"\n" * 7]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
def test_facts_read_in_pieces_match_the_whole_bytes(content, chunk, tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "CHUNK", chunk)
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    digest, lines = _read._file_facts(path)
    whole_digest, whole_lines = _read._bytes_facts(content)
    assert digest.hexdigest() == whole_digest.hexdigest() == hashlib.sha256(content).hexdigest()
    assert lines == whole_lines


def test_a_quote_beyond_the_sample_takes_the_exact_path(store, tmp_path, monkeypatch):
    """The sample holds no quote, the rest of the file does (a quoted cell with a comma): the
    fast path's naive split would be wrong, so the exact reader reads it; row numbers hold."""
    monkeypatch.setattr(_read, "SAMPLE_BYTES", 64)
    monkeypatch.setattr(_read, "CHUNK", 16)
    lines = ["统一社会信用代码,年份,主营业务收入"] + [f"{uscc(n)},2023,{n}" for n in range(1, 6)]
    lines.append(f'{uscc(7)},2023,"1,234.5"')
    path = tmp_path / "引号在后.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    source = _read.open_source(path)
    assert not source.fast and source.data is not None

    result = import_file(store, "enterprise-years", path)
    assert (result.inserted, result.rejected) == (6, 0)
    value = store.con.execute(f"SELECT main_revenue FROM enterprise_years WHERE uscc = '{uscc(7)}'").fetchone()[0]
    assert float(value) == 1234.5


def test_the_fast_path_does_not_hold_the_file(store, tmp_path):
    lines = ["统一社会信用代码,年份,主营业务收入"] + [f"{uscc(n)},2023,{n}" for n in range(1, 6)]
    path = tmp_path / "快.csv"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    source = _read.open_source(path)
    assert source.fast and source.data is None
    assert source.digest().hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source.facts.result()[1] == 6
    result = import_file(store, "enterprise-years", path)
    assert (result.inserted, result.rejected) == (5, 0)
