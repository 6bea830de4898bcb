import numpy as np
import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.readers import read
from tests.data_pipeline.builders import SEQUENCES, make_presplit


@pytest.mark.parametrize("max_len", [None, 3])
def test_presplit_rebuilds_sequences(tmp_path, max_len):
    log = read("recbole-atomic", make_presplit(tmp_path / "sci", max_len=max_len))
    expected_users = [u for u, seq in SEQUENCES.items() for _ in seq]
    assert log.users == expected_users
    assert log.items == [i for seq in SEQUENCES.values() for i in seq]
    assert log.given_split == {
        "U1": {"n_train": 4, "n_valid": 1, "n_test": 1},
        "U2": {"n_train": 1, "n_valid": 1, "n_test": 1},
        "U3": {"n_train": 2, "n_valid": 1, "n_test": 1},
    }
    assert log.item_info["g"] == {"text": "Text of g."}
    assert log.timestamps is None
    names = [p.name for p in log.inputs]
    assert names == [
        "Sci.train.inter", "Sci.valid.inter", "Sci.test.inter",
        "Sci.user2index", "Sci.item2index", "Sci.text",
    ]  # fmt: skip


def test_presplit_inconsistent_valid_row(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    path = folder / "Sci.valid.inter"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = "0\t0 1 2 4\t4\n"  # U1's valid history should be 0 1 2 3
    path.write_text("".join(lines))
    with pytest.raises(DataFormatError) as info:
        read("recbole-atomic", folder)
    assert (info.value.path, info.value.line, info.value.field) == (path, 2, "item_id_list")
    assert "'U1'" in info.value.problem


def test_presplit_train_rows_not_prefixes(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    path = folder / "Sci.train.inter"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = "0\t0 1 5\t3\n"
    path.write_text("".join(lines))
    with pytest.raises(DataFormatError, match=r"Sci.train.inter:2: item_id_list: train rows"):
        read("recbole-atomic", folder)


def test_presplit_unknown_index(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    path = folder / "Sci.test.inter"
    path.write_text(path.read_text() + "2\t1 1 0\t99\n")
    with pytest.raises(DataFormatError, match=r"Sci.test.inter:5: item_id: index '99' has no raw"):
        read("recbole-atomic", folder)


def test_presplit_missing_split_file(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    (folder / "Sci.valid.inter").unlink()
    with pytest.raises(DataFormatError, match=r"missing Sci.valid.inter"):
        read("recbole-atomic", folder)


def test_presplit_missing_column(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    (folder / "Sci.test.inter").write_text("user_id:token\titem_id:token\n0\t1\n")
    with pytest.raises(DataFormatError, match=r"Sci.test.inter:1: item_id_list: missing column"):
        read("recbole-atomic", folder)


def test_presplit_missing_field(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    path = folder / "Sci.test.inter"
    path.write_text(path.read_text() + "1\t0 2\n")
    with pytest.raises(DataFormatError) as info:
        read("recbole-atomic", folder)
    assert (info.value.line, info.value.field) == (5, "item_id")


def test_presplit_empty_history(tmp_path):
    folder = make_presplit(tmp_path / "sci")
    path = folder / "Sci.test.inter"
    path.write_text(path.read_text() + "2\t\t1\n")
    with pytest.raises(DataFormatError, match=r"Sci.test.inter:5: item_id_list: empty history"):
        read("recbole-atomic", folder)


def test_plain_inter_with_timestamps(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    (folder / "ml.inter").write_text(header + "1\t5\t4\t978300760.0\n2\t6\t3.5\t978300700\n")
    log = read("recbole-atomic", folder)
    assert log.users == ["1", "2"] and log.items == ["5", "6"]
    np.testing.assert_array_equal(log.timestamps, [978300760, 978300700])
    np.testing.assert_array_equal(log.ratings, [4.0, 3.5])
    assert log.given_split is None


def test_plain_inter_bad_timestamp(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    header = "user_id:token\titem_id:token\ttimestamp:float\n"
    (folder / "ml.inter").write_text(header + "1\t5\t1.0\n1\t6\tsoon\n")
    with pytest.raises(DataFormatError, match=r"ml.inter:3: timestamp: expected a number"):
        read("recbole-atomic", folder)


def test_empty_inter(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ml.inter").write_text("")
    with pytest.raises(DataFormatError, match=r"ml.inter: file is empty"):
        read("recbole-atomic", folder)


def test_no_inter_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"expected one <name>\.inter"):
        read("recbole-atomic", tmp_path)
