import numpy as np
import pytest

from data_pipeline.errors import DataFormatError
from data_pipeline.readers import read
from tests.data_pipeline.builders import make_ml1m, make_ml100k


def test_ml1m(tmp_path):
    folder = make_ml1m(tmp_path / "ml-1m")
    log = read("movielens", folder)
    assert log.users == ["1", "1", "2"] and log.items == ["10", "20", "10"]
    np.testing.assert_array_equal(log.timestamps, [978300760, 978300700, 978300800])
    assert log.timestamps.dtype == np.int64 and log.ratings.dtype == np.float32
    np.testing.assert_array_equal(log.ratings, [5, 3, 4])
    expected = {"title": "Caf\xe9 Society (1995)", "genres": ["Drama", "Romance"]}
    assert log.item_info["10"] == expected
    assert log.user_info["1"] == {"gender": "F", "age": 1, "occupation": 10, "zip": "48067"}
    assert [p.name for p in log.inputs] == ["ratings.dat", "movies.dat", "users.dat"]


def test_ml1m_partial_ratings_file_and_melu_text(tmp_path, caplog):
    folder = make_ml1m(tmp_path / "ml-1m", ratings="ratings_users_1-2_PARTIAL.dat")
    melu = "10::Cafe::1995::PG::x::Drama::Woody Allen::W::A, B::A plot.::http://p\r\n"
    (folder / "movies_extrainfos_MeLU.dat").write_text(melu, encoding="utf-8", newline="")
    log = read("movielens", folder)
    assert "using ratings_users_1-2_PARTIAL.dat" in caplog.text
    assert len(log) == 3
    info = log.item_info["10"]
    assert info["director"] == "Woody Allen" and info["actors"] == "A, B"
    assert info["plot"] == "A plot." and info["writers"] == "W" and info["title"].startswith("Caf")


def test_ml1m_ambiguous_ratings_files(tmp_path):
    folder = make_ml1m(tmp_path / "ml-1m", ratings="ratings_a.dat")
    (folder / "ratings_b.dat").write_text("1::1::1::1\n")
    with pytest.raises(DataFormatError, match="not exactly one ratings"):
        read("movielens", folder)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"1::10::5\n", "timestamp"),
        (b"1::ten::5::978300760\n", "item"),
        (b"1::10::five::978300760\n", "rating"),
    ],
)
def test_ml1m_malformed_rating(tmp_path, line, field):
    folder = make_ml1m(tmp_path / "ml-1m")
    path = folder / "ratings.dat"
    path.write_bytes(path.read_bytes() + line)
    with pytest.raises(DataFormatError) as info:
        read("movielens", folder)
    assert (info.value.path, info.value.line, info.value.field) == (path, 4, field)


def test_ml1m_malformed_users_file(tmp_path):
    folder = make_ml1m(tmp_path / "ml-1m")
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::old::16::70072\n")
    with pytest.raises(DataFormatError, match=r"users.dat:2: age: expected an integer"):
        read("movielens", folder)


def test_ml100k(tmp_path):
    folder = make_ml100k(tmp_path / "ml-100k")
    log = read("movielens", folder)
    assert log.users == ["1", "2", "1"] and log.items == ["10", "10", "20"]
    np.testing.assert_array_equal(log.timestamps, [881250949, 881250950, 881250940])
    assert log.item_info["10"]["genres"] == ["Action", "Thriller"]
    assert log.item_info["10"]["title"] == "M\xe9lodie (1995)"
    assert log.item_info["20"]["genres"] == []
    assert log.user_info["2"] == {"gender": "F", "age": 53, "occupation": "other", "zip": "94043"}


def test_ml100k_bad_genre_flag(tmp_path):
    folder = make_ml100k(tmp_path / "ml-100k")
    text = (folder / "u.item").read_bytes().replace(b"|1|", b"|x|", 1)
    (folder / "u.item").write_bytes(text)
    with pytest.raises(DataFormatError, match=r"u.item:1: genre\[1\]: expected 0 or 1"):
        read("movielens", folder)


def test_ml100k_missing_field(tmp_path):
    folder = make_ml100k(tmp_path / "ml-100k")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F\n")
    with pytest.raises(DataFormatError) as info:
        read("movielens", folder)
    assert (info.value.line, info.value.field) == (2, "occupation")
    assert "missing field" in str(info.value)


def test_empty_ratings(tmp_path):
    folder = make_ml100k(tmp_path / "ml-100k")
    (folder / "u.data").write_text("")
    with pytest.raises(DataFormatError, match=r"u.data: file is empty"):
        read("movielens", folder)


def test_folder_without_ratings(tmp_path):
    with pytest.raises(DataFormatError, match=r"no u\.data or ratings\.dat"):
        read("movielens", tmp_path)


def test_input_must_be_a_folder(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t1\t1\t1\n")
    with pytest.raises(DataFormatError, match="expected a folder"):
        read("movielens", path)
