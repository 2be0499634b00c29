"""Shards without a model: parsing I/N, which chunks a shard takes, and the streaming merge."""

import io

import pandas as pd
import pytest

from gnncli.errors import InputError, UsageError
from gnncli.shards import Shard, ShardPass, _ACTIVE, merge_shards, take_shard


@pytest.mark.parametrize("text,expected", [("3/16", Shard(3, 16)), (" 1 / 1 ", Shard(1, 1)), ("16/16", Shard(16, 16))])
def test_parse_reads_one_based_i_of_n(text, expected):
    assert Shard.parse(text) == expected
    assert str(expected) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "3", "a/b", "-1/4", "1/4/2", ""])
def test_parse_rejects_with_a_usage_error(text):
    with pytest.raises(UsageError, match=r"--shard"):
        Shard.parse(text)


class Chunk:
    def __init__(self, start, n):
        self.frame = pd.DataFrame({"smiles": [f"C{k}" for k in range(start, start + n)]})


def test_take_shard_takes_every_nth_chunk_and_numbers_rows_over_all_chunks():
    sizes = [4, 4, 2, 4, 4, 2]  # two files of 10 rows read in chunks of 4
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    seen = []
    for index in (1, 2, 3):
        state = ShardPass(Shard(index, 3), "molecules")
        token = _ACTIVE.set(state)
        try:
            taken = list(take_shard(Chunk(s, n) for s, n in zip(starts, sizes)))
        finally:
            _ACTIVE.reset(token)
        assert state.applied and state.rows == 20 and state.columns == ["smiles"]
        rows = [state.next_rows(len(c.frame)).tolist() for c in taken]
        assert [r[0] for r in rows] == [starts[k] for k in range(len(sizes)) if k % 3 == index - 1]
        assert [c.frame["smiles"].iloc[0] for c in taken] == [f"C{r[0]}" for r in rows]
        seen += [r for chunk in rows for r in chunk]
    assert sorted(seen) == list(range(20))


def test_take_shard_without_a_shard_passes_everything_through():
    chunks = [Chunk(0, 3), Chunk(3, 3)]
    assert list(take_shard(iter(chunks))) == chunks


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_merge_interleaves_by_row_and_keeps_quoted_fields_byte_for_byte(tmp_path):
    a = write(tmp_path / "a.csv", 'row (shard 1/2),id,note,error\n0,x,"a, b",\n1,y,"two\nlines",\n4,z,"say ""hi""",\n')
    b = write(tmp_path / "b.csv", "row (shard 2/2),id,note,error\n2,p,,empty SMILES\n3,q,plain,\n")
    out = io.StringIO()
    counts = merge_shards([b, a], out)
    assert counts == {"rows": 5, "shards": 2, "written": 5}
    assert out.getvalue() == ('id,note,error\nx,"a, b",\ny,"two\nlines",\np,,empty SMILES\nq,plain,\nz,"say ""hi""",\n')


def test_merge_of_a_shard_with_no_rows(tmp_path):
    a = write(tmp_path / "a.csv", "row (shard 1/2),id,error\n0,x,\n1,y,\n")
    b = write(tmp_path / "b.csv", "row (shard 2/2),id,error\n")
    out = io.StringIO()
    assert merge_shards([a, b], out)["rows"] == 2
    assert out.getvalue() == "id,error\nx,\ny,\n"


@pytest.mark.parametrize("texts,error,pattern", [
    (["row (shard 1/2),id\n0,x\n"], UsageError, r"shard 2/2 missing: give all 2 outputs"),
    (["row (shard 1/2),id\n0,x\n", "row (shard 1/3),id\n1,y\n"], UsageError, r"1\.csv: shard 1/3, and .*0\.csv is shard 1/2"),
    (["row (shard 1/2),id\n0,x\n", "row (shard 1/2),id\n1,y\n"], UsageError, r"1\.csv: shard 1/2 again"),
    (["row (shard 1/2),id\n0,x\n", "row (shard 2/2),name\n1,y\n"], UsageError, r"1\.csv: columns \['name'\] differ"),
    (["id,smiles\n0,x\n"], UsageError, r"0\.csv: not an output of gnn predict --shard .*'id'"),
    (["row (shard 1/2),id\n0,x\n1,y\n", "row (shard 2/2),id\n1,z\n"], UsageError, r"row 1 is in both .*0\.csv and .*1\.csv"),
    (["row (shard 1/2),id\n0,x\n", "row (shard 2/2),id\n3,z\n"], UsageError, r"rows 1\.\.2 are in no shard .* row 3, is in .*1\.csv"),
    (["row (shard 1/2),id\n0,x\nseven,y\n", "row (shard 2/2),id\n"], InputError, r"0\.csv: line 3: row number 'seven'"),
    (["row (shard 1/2),id\n0,x\n0,y\n", "row (shard 2/2),id\n"], InputError, r"0\.csv: line 3: row 0 after row 0"),
    (["row (shard 1/2),id\n0,x,extra\n", "row (shard 2/2),id\n"], InputError, r"0\.csv: line 2: 3 fields, the header has 2"),
    ([""], InputError, r"0\.csv: file is empty"),
])
def test_merge_refuses_files_that_are_not_one_job(tmp_path, texts, error, pattern):
    paths = [write(tmp_path / f"{k}.csv", text) for k, text in enumerate(texts)]
    with pytest.raises(error, match=pattern):
        merge_shards(paths, io.StringIO())


def test_merge_to_a_file_leaves_no_file_when_it_fails(tmp_path):
    a = write(tmp_path / "a.csv", "row (shard 1/2),id\n0,x\n")
    b = write(tmp_path / "b.csv", "row (shard 2/2),id\n5,y\n")
    with pytest.raises(UsageError, match="in no shard"):
        merge_shards([a, b], str(tmp_path / "all.csv"))
    assert not (tmp_path / "all.csv").exists()


def test_merge_top_k_ranks_predicted_rows_ties_in_input_order(tmp_path):
    a = write(tmp_path / "a.csv", "row (shard 1/2),id,score,error\n0,a,1.5,\n1,b,9,bad SMILES\n4,e,2,\n")
    b = write(tmp_path / "b.csv", "row (shard 2/2),id,score,error\n2,c,2,\n3,d,,\n5,f,0.5,\n")
    out = io.StringIO()
    counts = merge_shards([a, b], out, top_k=3, sort_by="score")
    assert counts == {"rows": 6, "shards": 2, "written": 3}
    assert out.getvalue() == "id,score,error\nc,2,\ne,2,\na,1.5,\n"
    out = io.StringIO()
    merge_shards([a, b], out, top_k=2, sort_by="score", ascending=True)
    assert out.getvalue() == "id,score,error\nf,0.5,\na,1.5,\n"
    out = io.StringIO()
    merge_shards([a, b], out, top_k=10, sort_by="score", ascending=True)
    assert out.getvalue().splitlines()[-1] == "d,,"  # an empty value ranks last, as NaN does
    with pytest.raises(UsageError, match="needs --sort-by"):
        merge_shards([a, b], io.StringIO(), top_k=2)
    with pytest.raises(UsageError, match="--sort-by nope: no such column"):
        merge_shards([a, b], io.StringIO(), top_k=2, sort_by="nope")
    with pytest.raises(UsageError, match="give --top-k K"):
        merge_shards([a, b], io.StringIO(), sort_by="score")
