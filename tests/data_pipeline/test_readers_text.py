import json

import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.readers import read


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_sasrec_reads_pairs_in_file_order(tmp_path):
    path = write(tmp_path / "ml.txt", "1 5\n1 3\n2 007\n\n2 5\n")
    log = read("sasrec-txt", path)
    assert log.users == ["1", "1", "2", "2"]
    assert log.items == ["5", "3", "7", "5"]
    assert log.timestamps is None and log.ratings is None and log.reviews is None
    assert log.given_split is None and log.inputs == [path]


def test_sasrec_loads_items_tsv(tmp_path):
    path = write(tmp_path / "ml-1m.txt", "1 1\n1 2\n")
    header = "sas_item_id\tmovielens_movie_id\ttitle\tgenres\n"
    tsv = write(tmp_path / "ml-1m_sasrec_items.tsv", header + "1\t10\tHeat (1995)\tAction|Crime\n")
    log = read("sasrec-txt", path)
    expected = {"movielens_id": 10, "title": "Heat (1995)", "genres": ["Action", "Crime"]}
    assert log.item_info == {"1": expected}
    assert log.inputs == [path, tsv]


@pytest.mark.parametrize(
    ("content", "line", "field"),
    [
        ("1 1\n1 x\n", 2, "item"),
        ("1 1\nu 2\n", 2, "user"),
        ("1 1\n2\n", 2, "item"),
    ],
)
def test_sasrec_malformed_lines(tmp_path, content, line, field):
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(DataFormatError) as info:
        read("sasrec-txt", path)
    assert (info.value.path, info.value.line, info.value.field) == (path, line, field)
    assert str(info.value).startswith(f"{path}:{line}: {field}: ")


def test_sasrec_too_many_fields(tmp_path):
    path = write(tmp_path / "bad.txt", "1 1 1\n")
    with pytest.raises(DataFormatError, match=r"bad.txt:1: expected 2"):
        read("sasrec-txt", path)


def test_empty_file(tmp_path):
    path = write(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(DataFormatError, match=r"empty.txt: file is empty"):
        read("sasrec-txt", path)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        read("sasrec-txt", tmp_path / "nope.txt")


def test_bad_encoding_names_line_and_field(tmp_path):
    path = write(tmp_path / "bad.txt", b"1 1\n1 2\xff3\n")
    with pytest.raises(DataFormatError) as info:
        read("sasrec-txt", path)
    assert (info.value.line, info.value.field) == (2, "item")
    assert "utf-8" in info.value.problem


def test_s3rec_reads_users_per_line(tmp_path):
    path = write(tmp_path / "Beauty.txt", "1 1 2 3\n2 4\n")
    attrs = write(tmp_path / "Beauty_item2attributes.json", json.dumps({"1": [7, 8], "4": []}))
    log = read("s3rec-txt", path)
    assert log.users == ["1", "1", "1", "2"]
    assert log.items == ["1", "2", "3", "4"]
    assert log.item_info == {"1": {"attributes": [7, 8]}, "4": {"attributes": []}}
    assert log.inputs == [path, attrs]


def test_s3rec_user_without_items(tmp_path):
    path = write(tmp_path / "Beauty.txt", "1 1 2\n2\n")
    with pytest.raises(DataFormatError) as info:
        read("s3rec-txt", path)
    assert (info.value.line, info.value.field) == (2, "item")


def test_s3rec_non_integer_item_names_position(tmp_path):
    path = write(tmp_path / "Beauty.txt", "1 1 2 b\n")
    with pytest.raises(DataFormatError, match=r"Beauty.txt:1: item\[3\]: expected an integer"):
        read("s3rec-txt", path)


def test_s3rec_attribute_json_syntax_error(tmp_path):
    path = write(tmp_path / "Beauty.txt", "1 1 2\n")
    write(tmp_path / "Beauty_item2attributes.json", '{"1": [1, 2],\n "2": [3,, 4]}')
    with pytest.raises(DataFormatError, match=r"Beauty_item2attributes.json:2: invalid JSON"):
        read("s3rec-txt", path)


def test_unknown_source(tmp_path):
    with pytest.raises(ValueError, match=r"unknown source 'csv'.*sasrec-txt"):
        read("csv", tmp_path)
