import hashlib
import zipfile

import pytest

from data_pipeline import download as download_module
from data_pipeline.download import ARCHIVES, ChecksumError, download
from data_pipeline.prepare import prepare
from tests.data_pipeline.builders import make_ml100k


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def contents(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_verifies_and_extracts(tmp_path):
    archive, md5 = make_zip(tmp_path / "ml-100k.zip", {"ml-100k/u.data": "1\t1\t5\t1\n"})
    out = tmp_path / "data"
    folder = download("movielens-100k", out, url=archive.as_uri(), expected_md5=md5)
    assert folder == out / "ml-100k"
    assert (folder / "u.data").read_text() == "1\t1\t5\t1\n"
    assert contents(out) == ["ml-100k"]  # no partial download or staging folder left


def test_sha256_can_be_required(tmp_path):
    archive, _ = make_zip(tmp_path / "ml-1m.zip", {"ml-1m/ratings.dat": "1::1::5::1\n"})
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    folder = download("movielens-1m", tmp_path / "d", url=archive.as_uri(), expected_sha256=sha)
    assert contents(folder) == ["ratings.dat"]


def test_checksum_mismatch_leaves_nothing(tmp_path):
    archive, _ = make_zip(tmp_path / "ml-100k.zip", {"ml-100k/u.data": "x"})
    out = tmp_path / "data"
    with pytest.raises(ChecksumError, match=r"md5 is .*expected 0{32}"):
        download("movielens-100k", out, url=archive.as_uri(), expected_md5="0" * 32)
    assert contents(out) == []


def test_pinned_checksum_is_the_default(tmp_path):
    archive, _ = make_zip(tmp_path / "ml-1m.zip", {"ml-1m/ratings.dat": "fake"})
    with pytest.raises(ChecksumError, match=ARCHIVES["movielens-1m"].md5):
        download("movielens-1m", tmp_path / "data", url=archive.as_uri())
    assert contents(tmp_path / "data") == []


def test_pinned_values():
    assert (
        ARCHIVES["movielens-1m"].url == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
    )
    assert ARCHIVES["movielens-100k"].md5 == "0e33842e24a9c977be4e0107933c0723"


def test_rejects_unexpected_members(tmp_path):
    archive, md5 = make_zip(tmp_path / "evil.zip", {"ml-100k/u.data": "x", "../escape": "x"})
    out = tmp_path / "data"
    with pytest.raises(ValueError, match="unexpected member"):
        download("movielens-100k", out, url=archive.as_uri(), expected_md5=md5)
    assert contents(out) == [] and not (tmp_path / "escape").exists()


def test_existing_folder_is_not_downloaded_again(tmp_path, monkeypatch):
    (tmp_path / "ml-100k").mkdir()
    monkeypatch.setattr(download_module, "_fetch", lambda *a: pytest.fail("network used"))
    assert download("movielens-100k", tmp_path) == tmp_path / "ml-100k"


def test_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        download("movielens-20m", tmp_path)


def test_download_then_prepare(tmp_path):
    source = make_ml100k(tmp_path / "src")
    files = {f"ml-100k/{p.name}": p.read_bytes() for p in source.iterdir()}
    archive, md5 = make_zip(tmp_path / "ml-100k.zip", files)
    folder = download("movielens-100k", tmp_path / "data", url=archive.as_uri(), expected_md5=md5)
    manifest = prepare("movielens", folder, tmp_path / "prepared")
    assert (manifest["num_users"], manifest["num_items"], manifest["num_interactions"]) == (2, 2, 3)
