import json
import os

import numpy as np
import pytest

from data_pipeline import output
from data_pipeline.dataset import PreparedDataset
from data_pipeline.errors import DataFormatError
from data_pipeline.prepare import prepare
from data_pipeline.records import history_for, target_for
from tests.data_pipeline.builders import SEQUENCES, make_presplit


def write_u_data(folder, rows):
    folder.mkdir(exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    return folder


def records(out):
    return list(PreparedDataset.open(out).records())


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_stable_tie_order_by_timestamp(tmp_path):
    rows = [(1, 50, 1, 30), (1, 10, 2, 20), (1, 40, 3, 30), (1, 20, 4, 20), (1, 30, 5, 10)]
    prepare("movielens", write_u_data(tmp_path / "in", rows), tmp_path / "out")
    (rec,) = records(tmp_path / "out")
    raw = PreparedDataset.open(tmp_path / "out").item_raw_ids()
    # ts 10 first, then the two ts=20 rows in file order, then the two ts=30 rows in file order.
    assert [raw[i] for i in rec.items] == ["30", "10", "20", "50", "40"]
    np.testing.assert_array_equal(rec.timestamps, [10, 20, 20, 30, 30])
    np.testing.assert_array_equal(rec.ratings, [5, 2, 4, 1, 3])


def test_without_timestamps_file_order_and_users_grouped(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("2 9\n1 5\n2 3\n1 4\n")
    prepare("sasrec-txt", path, tmp_path / "out")
    ds = PreparedDataset.open(tmp_path / "out")
    raw = ds.item_raw_ids()
    assert ds.user_raw_ids() == ["1", "2"]
    assert [[raw[i] for i in r.items] for r in ds.records()] == [["5", "4"], ["9", "3"]]


def test_numeric_ids_keep_their_order(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("10 30\n10 4\n2 4\n2 100\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    ds = PreparedDataset.open(tmp_path / "out")
    assert ds.item_raw_ids() == ["<pad>", "4", "30", "100"]
    assert ds.user_raw_ids() == ["2", "10"]
    assert [r.items.tolist() for r in ds.records()] == [[1, 3], [2, 1]]
    assert manifest["num_items"] == 3 and manifest["num_users"] == 2


def test_string_ids_by_first_appearance(tmp_path):
    rows = [
        {"reviewerID": "zed", "asin": "B2", "overall": 5, "unixReviewTime": 3},
        {"reviewerID": "amy", "asin": "A9", "overall": 4, "unixReviewTime": 1},
        {"reviewerID": "zed", "asin": "A9", "overall": 3, "unixReviewTime": 2, "summary": "s"},
    ]
    path = tmp_path / "reviews.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = prepare("amazon-reviews", path, tmp_path / "out")
    ds = PreparedDataset.open(tmp_path / "out")
    assert ds.user_raw_ids() == ["zed", "amy"] and ds.item_raw_ids() == ["<pad>", "B2", "A9"]
    zed, amy = ds.records()
    assert zed.items.tolist() == [2, 1] and zed.reviews == ["s", ""]
    assert amy.items.tolist() == [2]
    assert manifest["side_info"]["reviews"] is True


def test_leave_one_out(tmp_path):
    path = tmp_path / "seq.txt"
    lines = [f"1 {i}" for i in (5, 6, 7, 8)] + ["2 5", "2 6"] + [f"3 {i}" for i in (7, 8, 9)]
    path.write_text("\n".join(lines) + "\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    u1, u2, u3 = records(tmp_path / "out")
    assert (u1.n_train, u1.n_valid, u1.n_test) == (2, 1, 1)
    assert history_for(u1, "valid").tolist() == [1, 2] and target_for(u1, "valid") == 3
    assert history_for(u1, "test").tolist() == [1, 2, 3] and target_for(u1, "test") == 4
    assert (u2.n_train, u2.n_valid, u2.n_test) == (2, 0, 0)
    assert target_for(u2, "test") is None
    assert (u3.n_train, u3.n_valid, u3.n_test) == (1, 1, 1)
    assert manifest["users_without_eval"] == 1
    assert manifest["split"] == {
        "protocol": "leave-one-out", "valid": "second to last item", "test": "last item",
    }  # fmt: skip


def test_single_interaction_user(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 2\n1 3\n2 1\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    u2 = records(tmp_path / "out")[1]
    assert (u2.items.tolist(), u2.n_train, u2.n_valid, u2.n_test) == ([1], 1, 0, 0)
    assert manifest["users_without_eval"] == 1


def test_kcore_iterates_to_fixpoint(tmp_path):
    # k=2: item 9 (once) goes, so user 3 drops to 1 interaction and goes, so item 7 drops to 1.
    lines = ["1 5", "1 6", "2 5", "2 6", "3 7", "3 9", "4 7", "4 5"]
    path = tmp_path / "seq.txt"
    path.write_text("\n".join(lines) + "\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out", kcore=2)
    ds = PreparedDataset.open(tmp_path / "out")
    assert ds.user_raw_ids() == ["1", "2"] and ds.item_raw_ids() == ["<pad>", "5", "6"]
    assert manifest["num_interactions"] == 4 and manifest["kcore"] == 2


def test_max_users(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("3 1\n1 2\n2 3\n1 4\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out", max_users=2)
    assert PreparedDataset.open(tmp_path / "out").user_raw_ids() == ["1", "2"]
    assert manifest["num_items"] == 3 and manifest["max_users"] == 2


def test_given_split_kept(tmp_path):
    folder = make_presplit(tmp_path / "sci", max_len=3)
    manifest = prepare("recbole-atomic", folder, tmp_path / "out")
    ds = PreparedDataset.open(tmp_path / "out")
    assert manifest["split"]["protocol"] == "given"
    raw, info = ds.item_raw_ids(), ds.item_info()
    for user, rec in zip(ds.user_raw_ids(), ds.records(), strict=True):
        assert [raw[i] for i in rec.items] == SEQUENCES[user]
        assert (rec.n_train, rec.n_valid, rec.n_test) == (len(SEQUENCES[user]) - 2, 1, 1)
        assert all(info[i]["text"] == f"Text of {raw[i]}." for i in rec.items)
    with pytest.raises(ValueError, match="kcore"):
        prepare("recbole-atomic", tmp_path / "sci", tmp_path / "out2", kcore=2)


def test_multiple_shards(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("".join(f"{u} {i}\n" for u in range(1, 6) for i in (1, 2, 3)))
    manifest = prepare("sasrec-txt", path, tmp_path / "out", users_per_shard=2)
    assert manifest["shards"] == [f"sequences-0000{i}-of-00003.array_record" for i in range(3)]
    ds = PreparedDataset.open(tmp_path / "out")
    assert [r.user for r in ds.records()] == [0, 1, 2, 3, 4]
    assert len(ds.source()) == 5


def test_deterministic_output(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("".join(f"{u} {i}\n" for u in range(1, 30) for i in range(u % 7 + 1)))
    first = prepare("sasrec-txt", path, tmp_path / "a")
    second = prepare("sasrec-txt", path, tmp_path / "b")
    assert first == second
    names = sorted(os.listdir(tmp_path / "a"))
    assert names == sorted(os.listdir(tmp_path / "b"))
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_failed_read_leaves_nothing(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 x\n")
    out = tmp_path / "out" / "ds"
    with pytest.raises(DataFormatError, match=r"seq.txt:2: item"):
        prepare("sasrec-txt", path, out)
    assert not out.exists()


def test_failed_write_leaves_nothing_and_keeps_previous(tmp_path, monkeypatch):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 2\n")
    out = tmp_path / "out"
    prepare("sasrec-txt", path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("data_pipeline.prepare.write_jsonl", boom)
    with pytest.raises(OSError, match="disk full"):
        prepare("sasrec-txt", path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []
    with pytest.raises(OSError, match="disk full"):
        prepare("sasrec-txt", path, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists() and leftovers(tmp_path) == []


def test_replaces_previous_dataset(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 2\n")
    prepare("sasrec-txt", path, tmp_path / "out")
    path.write_text("1 1\n1 2\n2 1\n")
    assert prepare("sasrec-txt", path, tmp_path / "out")["num_users"] == 2
    assert PreparedDataset.open(tmp_path / "out").num_users == 2
    assert leftovers(tmp_path) == []


def test_refuses_foreign_directory(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a prepared dataset"):
        prepare("sasrec-txt", path, out)
    assert (out / "notes.txt").read_text() == "mine"


def test_manifest_contents(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n1 2\n1 3\n")
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    assert json.loads((tmp_path / "out" / output.MANIFEST).read_text()) == manifest
    assert manifest["format_version"] == 1 and manifest["source"] == "sasrec-txt"
    (entry,) = manifest["inputs"]
    assert entry["path"] == str(path.resolve()) and entry["bytes"] == 12
    assert len(entry["sha256"]) == 64
    assert manifest["side_info"] == {
        "items": [], "users": [], "timestamps": False, "ratings": False, "reviews": False,
    }  # fmt: skip
    assert manifest["created_by"] == "jaxrec data prepare"
    assert manifest["ordering"].startswith("stable sort by timestamp")


def test_bad_arguments(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 1\n")
    with pytest.raises(ValueError, match="unknown source"):
        prepare("nope", path, tmp_path / "out")
    with pytest.raises(ValueError, match="kcore"):
        prepare("sasrec-txt", path, tmp_path / "out", kcore=0)
    with pytest.raises(ValueError, match="no interactions left"):
        prepare("sasrec-txt", path, tmp_path / "out", kcore=5)
    assert not (tmp_path / "out").exists()
