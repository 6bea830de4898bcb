"""Prepares the shared benchmark data (read-only, skipped when absent); each test < 10 s."""

import numpy as np

from data_pipeline.dataset import PreparedDataset
from data_pipeline.prepare import prepare
from data_pipeline.records import history_for, target_for


def counts(manifest):
    return manifest["num_users"], manifest["num_items"], manifest["num_interactions"]


def test_ml1m_sasrec(shared_datasets, tmp_path):
    path = shared_datasets / "ml-1m_sasrec" / "ml-1m.txt"
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    assert counts(manifest) == (6040, 3416, 999_611)
    assert manifest["users_without_eval"] == 0
    ds = PreparedDataset.open(tmp_path / "out")
    # Internal ids equal the file's ids: item k -> k, user k -> k - 1.
    assert ds.item_raw_ids() == ["<pad>"] + [str(k) for k in range(1, 3417)]
    assert ds.user_raw_ids() == [str(k) for k in range(1, 6041)]
    with path.open() as f:
        first_user = [int(i) for u, i in (line.split() for line in f) if u == "1"]
    first = next(ds.records())
    assert first.items.tolist() == first_user
    assert (first.n_train, first.n_valid, first.n_test) == (len(first_user) - 2, 1, 1)
    assert ds.item_info()[1]["title"] == "Raiders of the Lost Ark (1981)"
    assert manifest["inputs"][0]["sha256"] == (
        "b725f3acb3986fe3130bffd1e77a74d182a1f51799567a236dbd60270f95b0a2"
    )


def read_split(folder, split, users, items):
    rows = []
    with (folder / f"Scientific.{split}.inter").open() as f:
        next(f)
        for line in f:
            user, history, target = line.rstrip("\n").split("\t")
            rows.append((users[user], [items[i] for i in history.split()], items[target]))
    return rows


def read_index(path):
    with path.open() as f:
        return {index: raw for raw, index in (line.rstrip("\n").split("\t") for line in f)}


def test_scientific_unisrec_given_split(shared_datasets, tmp_path):
    folder = shared_datasets / "amazon_scientific_unisrec"
    manifest = prepare("recbole-atomic", folder, tmp_path / "out")
    assert counts(manifest) == (8442, 4385, 59_427)
    assert manifest["split"]["protocol"] == "given"
    ds = PreparedDataset.open(tmp_path / "out")
    raw_items = ds.item_raw_ids()
    by_user = dict(zip(ds.user_raw_ids(), ds.records(), strict=True))
    users = read_index(folder / "Scientific.user2index")
    items = read_index(folder / "Scientific.item2index")
    for split in ("valid", "test"):
        for user, history, target in read_split(folder, split, users, items):
            rec = by_user[user]
            known = [raw_items[i] for i in history_for(rec, split)]
            assert known[-len(history) :] == history
            assert raw_items[target_for(rec, split)] == target
    train_rows = read_split(folder, "train", users, items)
    assert len(train_rows) == sum(rec.n_train - 1 for rec in by_user.values())
    texts = {}
    with (folder / "Scientific.text").open() as f:
        next(f)
        for line in f:
            asin, text = line.rstrip("\n").split("\t", 1)
            texts[asin] = text.strip()
    info = ds.item_info()
    assert all(info[i]["text"] == texts[raw_items[i]] for i in range(1, ds.num_items + 1))


def test_ml100k_movielens(shared_datasets, tmp_path):
    manifest = prepare("movielens", shared_datasets / "ml-100k", tmp_path / "out")
    assert counts(manifest) == (943, 1682, 100_000)
    assert manifest["side_info"]["users"] == ["age", "gender", "occupation", "zip"]
    ds = PreparedDataset.open(tmp_path / "out")
    assert ds.item_raw_ids()[1] == "1" and ds.user_raw_ids()[0] == "1"
    assert ds.item_info()[1]["title"] == "Toy Story (1995)"
    assert ds.item_info()[1]["genres"] == ["Animation", "Children's", "Comedy"]
    user = {"gender": "M", "age": 24, "occupation": "technician", "zip": "85711"}
    assert ds.user_info()[0] == user
    for rec in ds.records():
        assert np.all(np.diff(rec.timestamps) >= 0)
        assert rec.ratings is not None and len(rec.ratings) == len(rec.items)


def test_ml1m_raw_partial(shared_datasets, tmp_path, caplog):
    manifest = prepare("movielens", shared_datasets / "ml-1m_raw", tmp_path / "out")
    assert "ratings_users_1-2999_PARTIAL.dat" in caplog.text
    assert counts(manifest) == (2999, 3615, 487_650)
    ds = PreparedDataset.open(tmp_path / "out")
    info = ds.item_info()[ds.item_raw_ids().index("1")]
    assert info["title"] == "Toy Story (1995)" and info["director"] == "John Lasseter"
    assert ds.user_info()[0]["gender"] == "F"


def test_beauty_s3rec(shared_datasets, tmp_path):
    path = shared_datasets / "amazon_beauty_s3rec" / "Beauty.txt"
    manifest = prepare("s3rec-txt", path, tmp_path / "out")
    assert counts(manifest) == (22_363, 12_101, 198_502)
    assert manifest["side_info"]["items"] == ["attributes"]


def test_musical_instruments_reviews(shared_datasets, tmp_path):
    folder = shared_datasets / "amazon_musical_instruments_5core_reviews"
    path = folder / "reviews_Musical_Instruments_5.json"
    manifest = prepare("amazon-reviews", path, tmp_path / "out")
    assert counts(manifest) == (1429, 900, 10_261)
    rec = next(PreparedDataset.open(tmp_path / "out").records())
    assert len(rec.reviews) == len(rec.items) and np.all(np.diff(rec.timestamps) >= 0)


def test_beauty_bert4rec(shared_datasets, tmp_path):
    path = shared_datasets / "amazon_beauty_bert4rec" / "beauty.txt"
    manifest = prepare("sasrec-txt", path, tmp_path / "out")
    assert counts(manifest) == (40_226, 54_542, 353_962)
