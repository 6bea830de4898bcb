import pickle

from data_pipeline.errors import DataFormatError


def test_message_has_all_parts():
    err = DataFormatError("data/ratings.dat", 12, "item", "expected an integer, got 'x'")
    assert str(err) == "data/ratings.dat:12: item: expected an integer, got 'x'"
    assert isinstance(err, ValueError)
    assert (err.line, err.field) == (12, "item")


def test_message_omits_missing_parts():
    assert str(DataFormatError("u.data", None, None, "file is empty")) == "u.data: file is empty"
    assert str(DataFormatError("a.json", 3, None, "bad")) == "a.json:3: bad"
    assert str(DataFormatError("a.json", None, "asin", "bad")) == "a.json: asin: bad"


def test_pickle_round_trip():
    err = pickle.loads(pickle.dumps(DataFormatError("f.txt", 2, "user", "boom")))
    assert str(err) == "f.txt:2: user: boom"
