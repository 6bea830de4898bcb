import gzip
import json

import numpy as np
import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.readers import read
from data_pipeline.readers_amazon import review_text


def review(user, item, t, rating=5.0, **extra):
    return {"reviewerID": user, "asin": item, "overall": rating, "unixReviewTime": t, **extra}


def write_jsonl(path, rows, compress=False):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


ROWS = [
    review("A", "x", 20, 4.0, summary="Nice", reviewText="Works well."),
    review("B", "y", 10, summary="Great!", reviewText="Love it"),
    review("A", "y", 5, reviewText="Only text"),
]


@pytest.mark.parametrize("compress", [False, True])
def test_reads_plain_and_gzip(tmp_path, compress):
    path = write_jsonl(tmp_path / "reviews.json", ROWS, compress=compress)
    log = read("amazon-reviews", path)
    assert log.users == ["A", "B", "A"] and log.items == ["x", "y", "y"]
    np.testing.assert_array_equal(log.timestamps, [20, 10, 5])
    np.testing.assert_array_equal(log.ratings, [4.0, 5.0, 5.0])
    assert log.reviews == ["Nice. Works well.", "Great! Love it", "Only text"]
    assert log.item_info == {} and log.user_info == {}


def test_review_text_joining():
    assert review_text("Good", "Body") == "Good. Body"
    assert review_text("Good?", " Body ") == "Good? Body"
    assert review_text("", "Body") == "Body"
    assert review_text("Sum", "") == "Sum"


def test_missing_required_field(tmp_path):
    rows = [*ROWS, {"reviewerID": "C", "overall": 3.0, "unixReviewTime": 1}]
    path = write_jsonl(tmp_path / "reviews.json", rows)
    with pytest.raises(DataFormatError) as info:
        read("amazon-reviews", path)
    assert (info.value.path, info.value.line, info.value.field) == (path, 4, "asin")
    assert str(info.value) == f"{path}:4: asin: missing required field"


def test_wrong_type(tmp_path):
    path = write_jsonl(tmp_path / "reviews.json", [review("A", "x", "2014-01-01")])
    with pytest.raises(DataFormatError, match=r"reviews.json:1: unixReviewTime: expected int"):
        read("amazon-reviews", path)


def test_json_syntax_error(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(ROWS[0]) + "\n" + '{"reviewerID": "B", "asin": }\n')
    with pytest.raises(DataFormatError, match=r"reviews.json:2: invalid JSON: .*column 29"):
        read("amazon-reviews", path)


def test_truncated_gzip(tmp_path):
    full = write_jsonl(tmp_path / "full.json.gz", ROWS * 50, compress=True).read_bytes()
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DataFormatError, match=r"reviews.json.gz:\d+: truncated or corrupt gzip"):
        read("amazon-reviews", path)


def test_gzip_detected_by_magic_bytes(tmp_path):
    path = write_jsonl(tmp_path / "reviews.json", ROWS, compress=True)
    assert len(read("amazon-reviews", path)) == 3


def test_bad_encoding(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b"\n" + b'{"reviewerID": "\xe9"}\n')
    with pytest.raises(DataFormatError, match=r"reviews.json:2: invalid utf-8 byte"):
        read("amazon-reviews", path)


def test_not_an_object(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text("[1, 2]\n")
    with pytest.raises(DataFormatError, match=r"reviews.json:1: expected a JSON object"):
        read("amazon-reviews", path)


def test_empty(tmp_path):
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(gzip.compress(b"", mtime=0))
    with pytest.raises(DataFormatError, match="file is empty"):
        read("amazon-reviews", path)
