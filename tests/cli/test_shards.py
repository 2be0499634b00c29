"""gnn predict --shard I/N and --merge end to end: shards cover every row once, merge back to the
unsharded output byte for byte, and refuse what is not one job with one-line errors."""

import io

import numpy as np
import pandas as pd
import pytest

from gnncli.testing import write_molecule_csv

from .conftest import invoke, last_json

BAD = [["bad1", "C1CC", "0"], ["bad2", "", "0"], ["m_x", "CCO", "1"], ["bad3", "C(C)(C)(C)(C)C", "0"]]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """53 rows, three invalid among them, read in chunks of 7: 8 chunks, the last of 4 rows."""
    folder = tmp_path_factory.mktemp("library")
    return write_molecule_csv(folder / "lib.csv", n=49, seed=1, extra_rows=BAD)


def one_error_line(result) -> str:
    """The error line of a failed command: one, last on stderr (after any progress bar), no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), result.output
    assert sum(line.startswith("error:") for line in lines) == 1 and "Traceback" not in result.output
    return lines[-1]


def shard_outputs(run, inputs, n, folder, *extra):
    paths = []
    for i in range(1, n + 1):
        path = folder / f"part{i}.csv"
        result = invoke("predict", run, *inputs, "--chunk-size", 7, "--shard", f"{i}/{n}", "--out", path, *extra)
        assert result.exit_code == 0, result.output
        paths.append(path)
    return paths


@pytest.mark.parametrize("n", [3, 9])  # 9 shards of 8 chunks: the last has no rows
def test_shards_cover_every_row_once_and_merge_to_the_unsharded_output(trained_run, library, tmp_path, n):
    full = invoke("predict", trained_run, library, "--chunk-size", 7)
    assert full.exit_code == 0, full.output
    parts = shard_outputs(trained_run, [library], n, tmp_path)
    rows = []
    for i, path in enumerate(parts, 1):
        table = pd.read_csv(path, keep_default_na=False)
        column = f"row (shard {i}/{n})"
        assert list(table.columns) == [column, "id", "smiles", "logp", "logp_pred", "logp_pred_std", "error"]
        assert all((r // 7) % n == i - 1 for r in table[column])  # every n-th chunk of 7 rows, from chunk i-1
        rows += table[column].tolist()
    assert sorted(rows) == list(range(53))
    if n == 9:  # a shard with no chunk writes the header alone, so that --merge knows it ran
        assert parts[-1].read_text() == "row (shard 9/9),id,smiles,logp,logp_pred,logp_pred_std,error\n"

    merged = invoke("predict", "--merge", *reversed(parts))  # any order of files
    assert merged.exit_code == 0, merged.output
    assert merged.stdout == full.stdout
    assert f"merged 53 rows of {n} shards" in merged.stderr
    table = pd.read_csv(io.StringIO(merged.stdout), keep_default_na=False)
    assert table["id"].tolist()[-4:] == ["bad1", "bad2", "m_x", "bad3"]
    assert table["error"].astype(bool).tolist()[-4:] == [True, True, False, True]


def test_rows_are_numbered_over_all_inputs_and_chunks_restart_per_file(trained_run, tmp_path):
    a = tmp_path / "a.smi"
    b = tmp_path / "b.smi"
    smiles = pd.read_csv(write_molecule_csv(tmp_path / "m.csv", n=20, seed=2))["smiles"].tolist()
    a.write_text("\n".join(smiles[:10]) + "\n")
    b.write_text("\n".join(smiles[10:15] + ["C1CC"] + smiles[15:]) + "\n")
    full = invoke("predict", trained_run, a, b, "--chunk-size", 4)
    assert full.exit_code == 0, full.output
    second = tmp_path / "part2.csv"
    result = invoke("predict", trained_run, a, b, "--chunk-size", 4, "--shard", "2/2", "--out", second, "--json")
    assert result.exit_code == 0, result.output
    # chunks: a 0-3, 4-7, 8-9; b 10-13, 14-17, 18-20; shard 2/2 takes chunks 1, 3 and 5
    assert pd.read_csv(second)["row (shard 2/2)"].tolist() == [4, 5, 6, 7, 10, 11, 12, 13, 18, 19, 20]
    counts = last_json(result.output)
    assert counts == {"rows": 11, "predicted": 11, "invalid": 0, "shard": "2/2", "input_rows": 21}
    first = tmp_path / "part1.csv"
    assert invoke("predict", trained_run, a, b, "--chunk-size", 4, "--shard", "1/2", "--out", first).exit_code == 0
    assert "1 invalid" in invoke("predict", trained_run, a, b, "--chunk-size", 4, "--shard", "1/2").output
    merged = tmp_path / "all.csv"
    result = invoke("predict", "--merge", first, second, "--out", merged, "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.output) == {"rows": 21, "shards": 2, "written": 21}
    assert merged.read_text() == full.stdout


def test_merge_top_k_matches_the_unsharded_top_k(trained_run, library, tmp_path):
    parts = shard_outputs(trained_run, [library], 4, tmp_path)
    for extra in ([], ["--ascending"]):
        full = invoke("predict", trained_run, library, "--top-k", 5, *extra)
        assert full.exit_code == 0, full.output
        merged = invoke("predict", "--merge", *parts, "--top-k", 5, "--sort-by", "logp_pred", *extra)
        assert merged.exit_code == 0, merged.output
        assert merged.stdout == full.stdout
        assert "wrote the best 5" in merged.stderr


@pytest.fixture(scope="module")
def shards(trained_run, library, tmp_path_factory):
    return shard_outputs(trained_run, [library], 3, tmp_path_factory.mktemp("shards"))


@pytest.mark.parametrize("make,code,pattern", [
    (lambda p, t: p[:2], 2, r"shard 3/3 missing: give all 3 outputs of the job"),
    (lambda p, t: [*p, p[0]], 2, r"part1\.csv: shard 1/3 again \(also .*part1\.csv\)"),
    (lambda p, t: [*p, t / "nope.csv"], 1, r"nope\.csv: file not found"),
    (lambda p, t: [*p[:2], edited(p[2], t, "logp_pred,", "logS,")], 2, r"part3\.csv: columns .* differ from .*part1\.csv's"),
    (lambda p, t: [*p[:2], edited(p[2], t, "shard 3/3", "shard 3/4")], 2, r"part3\.csv: shard 3/4, and .*part1\.csv is shard 1/3"),
    (lambda p, t: [*p[:2], edited(p[2], t, "row (shard 3/3)", "row")], 2, r"part3\.csv: not an output of gnn predict --shard"),
    (lambda p, t: [*p[:2], edited(p[2], t, "\n14,", "\n7,")], 2, r"row 7 is in both .*part2\.csv and .*part3\.csv: the shards overlap"),
    (lambda p, t: [*p[:2], edited(p[2], t, "\n15,", "\n14,")], 1, r"part3\.csv: line 3: row 14 after row 14"),
    (lambda p, t: [*p[:2], edited(p[2], t, "\n14,", "\nxiv,")], 1, r"part3\.csv: line 2: row number 'xiv' is not a whole number"),
    (lambda p, t: [], 2, r"--merge needs the shard outputs"),
])
def test_bad_merges_are_one_line_errors(shards, tmp_path, make, code, pattern):
    out = tmp_path / "all.csv"
    result = invoke("predict", "--merge", *make(shards, tmp_path), "--out", out)
    assert result.exit_code == code, result.output
    assert __import__("re").search(pattern, one_error_line(result))
    assert not out.exists()  # written atomically: nothing left of a failed merge


def edited(path, folder, *pairs):
    text = path.read_text()
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert old in text
        text = text.replace(old, new, 1)
    copy = folder / path.name
    copy.write_text(text)
    return copy


def test_merge_with_a_gap_names_the_rows(shards, tmp_path):
    parts = [shards[0], shards[1], edited(shards[2], tmp_path, "\n14,", "\n99999,")]
    result = invoke("predict", "--merge", *parts, "--out", tmp_path / "all.csv")
    assert result.exit_code == 2
    assert "rows 14..20 are in no shard (the next, row 21, is in" in one_error_line(result)
    assert not (tmp_path / "all.csv").exists()


@pytest.mark.parametrize("args,pattern", [
    (["--shard", "0/4"], r"--shard 0/4: I must be 1\.\.N"),
    (["--shard", "5/4"], r"--shard 5/4: I must be 1\.\.N"),
    (["--shard", "half"], r"--shard half: give I/N"),
    (["--shard", "1/2", "--top-k", "5"], r"--top-k ranks the whole input and --shard predicts a share of it"),
])
def test_bad_shard_options_are_usage_errors(trained_run, library, tmp_path, args, pattern):
    out = tmp_path / "part.csv"
    result = invoke("predict", trained_run, library, *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert __import__("re").search(pattern, one_error_line(result))
    assert not out.exists()


@pytest.mark.parametrize("args,pattern", [
    (["--merge", "a.csv", "--shard", "1/2"], r"--merge joins shard outputs: --shard do not apply"),
    (["--merge", "a.csv", "--smiles-col", "smi"], r"--merge joins shard outputs: --smiles-col do not apply"),
    ([], r"give the RUN folder"),
])
def test_merge_and_run_mix_ups_are_usage_errors(args, pattern):
    result = invoke("predict", *args)
    assert result.exit_code == 2, result.output
    assert __import__("re").search(pattern, one_error_line(result))


def test_help_documents_shard_and_merge():
    text = invoke("predict", "--help").output
    for phrase in ("--shard", "--merge", "row (shard I/N)", "--shard 3/16 --out part3.csv", "gnn predict --merge part*.csv"):
        assert phrase in text


# -- kinds whose predict is not a streamed, sharded table ------------------------------------


@pytest.fixture(scope="module")
def ratings_run(tmp_path_factory):
    from tests.domains.test_ratings import ratings_matrix, write_ratings

    folder = tmp_path_factory.mktemp("ratings")
    u, i, r = ratings_matrix(20, 10, 0.5, seed=3)
    train = write_ratings(folder / "train.csv", u, i, r)
    result = invoke("train", train, "--model", "gnn", "--epochs", "1", "--no-plots", "--out", folder / "run")
    assert result.exit_code == 0, result.output
    pairs = folder / "pairs.csv"
    pairs.write_text("userId,movieId\nu1,m2\nu2,m1\n")
    return folder / "run", pairs


def test_kinds_that_cannot_shard_are_usage_errors_before_any_output(ratings_run, tmp_path):
    run, pairs = ratings_run
    out = tmp_path / "part.csv"
    result = invoke("predict", run, pairs, "--shard", "1/2", "--out", out)
    assert result.exit_code == 2, result.output
    assert "--shard: ratings input is not read in shards yet" in one_error_line(result)
    result = invoke("predict", run, "--recommend", "3", "--shard", "1/2", "--out", out)
    assert result.exit_code == 2, result.output
    assert "--shard: this gnn predict of ratings input writes no table of input rows" in one_error_line(result)
    assert not out.exists()
    assert invoke("predict", run, pairs).exit_code == 0  # and without --shard all is as before


def test_a_kind_without_rows_to_stream_is_a_usage_error(tmp_path):
    from gnncli import api
    from gnncli.errors import UsageError
    from tests.domains.test_wireless_end_to_end import tiny_options

    api.train(tiny_options(tmp_path / "run", epochs=1))
    with pytest.raises(UsageError, match="--shard: gnn predict of wireless input writes no table of input rows"):
        api.predict(tmp_path / "run", [], str(tmp_path / "out"), shard="1/2")
    assert not (tmp_path / "out").exists()
