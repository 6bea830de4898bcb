"""`--engine ray-data` on a local 2-CPU Ray cluster: the same files and errors as `prepare`."""

import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.prepare import prepare
from tests.data_pipeline import dist_fixtures as fx

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.mark.parametrize(
    ("source", "make", "kcore", "max_users"),
    [
        ("sasrec-txt", fx.make_sasrec, 2, None),
        ("s3rec-txt", fx.make_s3rec, None, 2),
        ("movielens", lambda folder: fx.make_movielens(folder, "ml-1m"), 2, None),
        ("movielens", lambda folder: fx.make_movielens(folder, "ml-100k"), None, None),
        ("amazon-reviews", fx.make_amazon, None, None),
        ("amazon-reviews", fx.make_amazon_gz, 2, None),
    ],
)
def test_ray_data_engine_writes_identical_files(
    ray_local, tmp_path, source, make, kcore, max_users
):
    from data_pipeline.ray_data_prepare import prepare_ray_data

    path = make(tmp_path / "in")
    prepare(source, path, tmp_path / "local", kcore=kcore, max_users=max_users)
    manifest = prepare_ray_data(source, path, tmp_path / "rd", kcore=kcore, max_users=max_users)
    assert manifest["num_interactions"] > 0
    assert fx.tree_bytes(tmp_path / "local") == fx.tree_bytes(tmp_path / "rd")


def test_ray_data_engine_reports_the_file_and_line(ray_local, tmp_path):
    from data_pipeline.ray_data_prepare import prepare_ray_data

    folder = fx.make_movielens(tmp_path / "in", "ml-1m")
    ratings = folder / "ratings.dat"
    lines = ratings.read_text().splitlines(keepends=True)
    bad = len(lines) - 3  # in the last chunk: the line number must count the chunks before
    lines[bad] = lines[bad].replace("::", "::x", 2)
    ratings.write_text("".join(lines))
    with pytest.raises(DataFormatError) as local:
        prepare("movielens", folder, tmp_path / "a")
    with pytest.raises(DataFormatError) as dist:
        prepare_ray_data("movielens", folder, tmp_path / "b")
    assert str(dist.value) == str(local.value)
    assert (dist.value.path, dist.value.line) == (ratings, bad + 1)
    assert str(dist.value).startswith(f"{ratings}:{bad + 1}: ")
    assert not (tmp_path / "b").exists()


def test_ray_data_engine_refuses_unsupported_sources(tmp_path):
    from data_pipeline.ray_data_prepare import prepare_ray_data

    with pytest.raises(ValueError, match="--engine ray-data does not support source"):
        prepare_ray_data("recbole-atomic", tmp_path, tmp_path / "out")
