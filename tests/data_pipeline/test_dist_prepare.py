"""The distributed prepare, run in-process (SerialExecutor): same files as `prepare`.

The Ray run of the same code is tests/data_pipeline/test_ray_prepare.py (slow).
"""

import numpy as np
import pytest

from data_pipeline import dist_stages
from data_pipeline.dist_chunks import iter_chunk_lines, plan_chunks
from data_pipeline.dist_prepare import SerialExecutor, prepare_distributed
from data_pipeline.errors import DataFormatError
from data_pipeline.line_reader import iter_lines
from data_pipeline.prepare import prepare
from tests.data_pipeline import dist_fixtures as fx

CASES = {
    "sasrec-txt": fx.make_sasrec,
    "s3rec-txt": fx.make_s3rec,
    "amazon-reviews": fx.make_amazon,
    "amazon-gz": fx.make_amazon_gz,
    "movielens": lambda folder: fx.make_movielens(folder, "ml-1m"),
    "ml-100k": lambda folder: fx.make_movielens(folder, "ml-100k"),
}


def both(tmp_path, source, path, parallelism=3, **kwargs):
    prepare(source, path, tmp_path / "local", **kwargs)
    prepare_distributed(
        source, path, tmp_path / "dist", executor=SerialExecutor(parallelism), **kwargs
    )
    return fx.tree_bytes(tmp_path / "local"), fx.tree_bytes(tmp_path / "dist")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kcore", [None, 2])
def test_identical_files(tmp_path, case, kcore):
    source = {"ml-100k": "movielens", "amazon-gz": "amazon-reviews"}.get(case, case)
    path = CASES[case](tmp_path / "in")
    if case == "ml-100k" and kcore:  # nothing survives: both engines must say so
        dist = lambda *a, **k: prepare_distributed(*a, executor=SerialExecutor(), **k)
        for engine in (prepare, dist):
            with pytest.raises(ValueError, match="no interactions left after filtering"):
                engine(source, path, tmp_path / "out", kcore=kcore)
        return
    local, dist = both(tmp_path, source, path, kcore=kcore)
    assert sorted(local) == sorted(dist)
    for name in local:
        assert local[name] == dist[name], name


@pytest.mark.parametrize("parallelism", [1, 2, 7])
def test_identical_for_any_chunking_and_max_users(tmp_path, parallelism):
    path = fx.make_sasrec(tmp_path / "in")
    local, dist = both(tmp_path, "sasrec-txt", path, parallelism, max_users=2, kcore=2)
    assert local == dist


def test_chunks_cover_every_line_once(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"a\r\nbb\n\nccc\nd")
    for count in (1, 2, 3, 5, 20):
        chunks = plan_chunks(path, count, 1 << 20)
        assert chunks[0].start == 0 and chunks[-1].end == path.stat().st_size
        lines = [t for c in chunks for _, t in iter_chunk_lines(c)]
        assert lines == [t for _, t in iter_lines(path)]


def test_id_order_numeric_ties_by_first_appearance():
    raw = ["10", "007", "2", "7"]
    first = np.array([0, 1, 2, 3])
    assert dist_stages.id_order(raw, first, dist_stages.all_int_ids(raw)) == [2, 1, 3, 0]
    raw = ["b", "a", "2"]
    assert dist_stages.id_order(raw, np.array([5, 1, 3]), dist_stages.all_int_ids(raw)) == [1, 2, 0]


@pytest.mark.parametrize(
    ("source", "content", "message"),
    [
        ("sasrec-txt", "1 2\n" * 40 + "1 x\n", "seq.txt:41: item: expected an integer, got 'x'"),
        ("sasrec-txt", "1 2\n" * 40 + "3\n", "seq.txt:41: item: expected 2 whitespace"),
        ("sasrec-txt", "", "seq.txt: file is empty"),
    ],
    ids=["bad-int", "missing-field", "empty"],
)
def test_same_error_as_reader(tmp_path, source, content, message):
    path = tmp_path / "seq.txt"
    path.write_text(content + "1 2\n" * 40 if content else content)
    errors = []
    for run in (
        lambda: prepare(source, path, tmp_path / "a"),
        lambda: prepare_distributed(source, path, tmp_path / "b", executor=SerialExecutor(4)),
    ):
        with pytest.raises(DataFormatError) as info:
            run()
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert message in errors[1]
    assert not (tmp_path / "b").exists()


def test_bad_byte_in_later_chunk_names_file_line_field(tmp_path):
    folder = fx.make_movielens(tmp_path / "in", "ml-1m")
    ratings = folder / "ratings.dat"
    ratings.write_bytes(ratings.read_bytes() * 4 + b"5::7::\xff::978300760\n")
    with pytest.raises(DataFormatError) as local:
        prepare("movielens", folder, tmp_path / "a")
    with pytest.raises(DataFormatError) as dist:
        prepare_distributed("movielens", folder, tmp_path / "b", executor=SerialExecutor(5))
    assert str(local.value) == str(dist.value)
    assert dist.value.line == 77 and dist.value.field == "rating"


def test_unsupported_source_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not support source 'recbole-atomic'"):
        prepare_distributed("recbole-atomic", tmp_path, tmp_path / "out", executor=SerialExecutor())


@pytest.mark.parametrize("engine", ["ray", "ray-data"])
def test_cli_engine_ray_refuses_before_starting_ray(tmp_path, capsys, engine):
    from jaxrec.cli import main

    base = ["data", "prepare", "--engine", engine, "--out", str(tmp_path / "out")]
    presplit = ["--source", "recbole-atomic", "--input", str(tmp_path)]
    assert main([*base, *presplit]) == 2
    assert f"--engine {engine} does not support source 'recbole-atomic'" in capsys.readouterr().err
    path = fx.make_sasrec(tmp_path / "in")
    assert main([*base, "--source", "sasrec-txt", "--input", str(path), "--cold-items", "0.1"]) == 2
    assert f"--engine {engine} does not support --cold-items" in capsys.readouterr().err
