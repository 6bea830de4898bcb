import json

import grain
import numpy as np
import pytest

from data_pipeline.dataset import PreparedDataset
from data_pipeline.errors import DataFormatError
from data_pipeline.prepare import prepare
from data_pipeline.records import decode_user_record
from tests.data_pipeline.builders import make_ml100k


@pytest.fixture
def prepared(tmp_path):
    prepare("movielens", make_ml100k(tmp_path / "ml-100k"), tmp_path / "out")
    return tmp_path / "out"


def test_open_and_properties(prepared):
    ds = PreparedDataset.open(prepared)
    assert (ds.num_users, ds.num_items) == (2, 2)
    assert ds.manifest["source"] == "movielens"
    assert [p.name for p in ds.shard_paths] == ["sequences-00000-of-00001.array_record"]
    assert ds.item_raw_ids() == ["<pad>", "10", "20"]
    assert ds.user_raw_ids() == ["1", "2"]
    info = ds.item_info()
    assert info[0] == {} and info[1]["title"] == "M\xe9lodie (1995)"
    assert ds.user_info()[1] == {"gender": "F", "age": 53, "occupation": "other", "zip": "94043"}
    assert ds.manifest["side_info"]["items"] == ["genres", "release_date", "title"]


def test_grain_source(prepared):
    ds = PreparedDataset.open(prepared)
    source = ds.source()
    assert len(source) == 2
    first = decode_user_record(source[0])
    assert first.user == 0 and first.items.tolist() == [2, 1]  # user 1: item 20 (t=940), 10
    users = [r.user for r in grain.MapDataset.source(source).map(decode_user_record)]
    assert users == [0, 1]


def test_item_popularity_counts_training_part_only(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 2\n1 3\n1 3\n2 3\n2 2\n")
    prepare("sasrec-txt", path, tmp_path / "out")
    ds = PreparedDataset.open(tmp_path / "out")
    # user 1 trains on [1, 2] (3, 3 held out); user 2 has < 3 items, all training.
    np.testing.assert_array_equal(ds.item_popularity(), [0, 1, 2, 1])
    np.testing.assert_array_equal(ds.item_popularity("valid"), [0, 1, 2, 1])
    assert ds.item_popularity().dtype == np.int64
    with pytest.raises(ValueError, match="split"):
        ds.item_popularity("train")


def test_missing_manifest(tmp_path):
    with pytest.raises(DataFormatError, match=r"manifest.json: missing"):
        PreparedDataset.open(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        PreparedDataset.open(tmp_path / "nope")


def test_corrupt_manifest(prepared):
    (prepared / "manifest.json").write_text('{"format_version": 1,\n oops}')
    with pytest.raises(DataFormatError, match=r"manifest.json:2: corrupt JSON"):
        PreparedDataset.open(prepared)


def test_unknown_format_version(prepared):
    manifest = json.loads((prepared / "manifest.json").read_text())
    manifest["format_version"] = 99
    (prepared / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataFormatError, match=r"format_version: unknown format_version 99"):
        PreparedDataset.open(prepared)


def test_missing_shard(prepared):
    next(prepared.glob("*.array_record")).unlink()
    with pytest.raises(DataFormatError, match="shard listed in manifest is missing"):
        PreparedDataset.open(prepared)


def test_items_file_mismatch(prepared):
    (prepared / "items.jsonl").write_text('{"id": 1, "raw_id": "10"}\n')
    with pytest.raises(DataFormatError, match="1 rows, manifest says 2"):
        PreparedDataset.open(prepared).item_raw_ids()
