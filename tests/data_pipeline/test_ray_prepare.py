"""`--engine ray` on a local 2-CPU Ray cluster: the same files and errors as `prepare`."""

import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.prepare import prepare
from data_pipeline.ray_prepare import prepare_ray
from tests.data_pipeline import dist_fixtures as fx

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.mark.parametrize(
    ("source", "make", "kcore"),
    [
        ("sasrec-txt", fx.make_sasrec, 2),
        ("movielens", lambda folder: fx.make_movielens(folder, "ml-1m"), None),
        ("amazon-reviews", fx.make_amazon, None),
    ],
)
def test_ray_engine_writes_identical_files(ray_local, tmp_path, source, make, kcore):
    path = make(tmp_path / "in")
    prepare(source, path, tmp_path / "local", kcore=kcore)
    manifest = prepare_ray(source, path, tmp_path / "ray", kcore=kcore)
    assert manifest["num_interactions"] > 0
    assert fx.tree_bytes(tmp_path / "local") == fx.tree_bytes(tmp_path / "ray")


def test_ray_engine_reports_the_readers_error(ray_local, tmp_path):
    path = fx.make_amazon(tmp_path / "in")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[-3] = lines[-3].replace('"asin"', '"asinX"')
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataFormatError) as local:
        prepare("amazon-reviews", path, tmp_path / "a")
    with pytest.raises(DataFormatError) as dist:
        prepare_ray("amazon-reviews", path, tmp_path / "b")
    assert str(dist.value) == str(local.value)
    assert (dist.value.line, dist.value.field) == (len(lines) - 2, "asin")
    assert not (tmp_path / "b").exists()
