"""Reader for the raw GroupLens MovieLens releases (ML-1M and ML-100K), given as a folder.

ML-1M (`::`-separated, Latin-1): `ratings.dat` (`user::item::rating::timestamp`), `movies.dat`
(`id::title::genres`), `users.dat` (`id::gender::age::occupation::zip`). When `ratings.dat` is
absent but exactly one `ratings*.dat` exists (the shared partial copy), that file is used with a
warning. An optional `movies_extrainfos_MeLU.dat` (UTF-8, from the MeLU repository) adds
director, writers, actors and plot text to the items.

ML-100K: `u.data` (tab: user item rating timestamp), `u.item` (`|`-separated, Latin-1, 19 genre
flags named by `u.genre`), `u.user` (`id|age|gender|occupation|zip`).

The release is detected from the files present (`u.data` means ML-100K).
"""

import logging
import pathlib
from collections.abc import Iterable

import numpy as np

from data_pipeline.errors import DataFormatError
from data_pipeline.interaction_log import InteractionLog
from data_pipeline.line_reader import (
    iter_lines,
    parse_float,
    parse_int,
    require_dir,
    require_nonempty,
    split_fields,
)

logger = logging.getLogger(__name__)

RATING_COLUMNS = ("user", "item", "rating", "timestamp")
ML1M_MOVIE_COLUMNS = ("movie_id", "title", "genres")
ML1M_USER_COLUMNS = ("user_id", "gender", "age", "occupation", "zip")
MELU_COLUMNS = (
    "movie_id", "title", "year", "rated", "released", "genres",
    "director", "writers", "actors", "plot", "poster",
)  # fmt: skip
ML100K_ITEM_COLUMNS = ("movie_id", "title", "release_date", "video_release_date", "imdb_url")
ML100K_USER_COLUMNS = ("user_id", "age", "gender", "occupation", "zip")
_MELU_TEXT_FIELDS = ("director", "writers", "actors", "plot")
_NUM_GENRE_FLAGS = 19


def read_movielens(input_path: str | pathlib.Path) -> InteractionLog:
    """Reads an ML-1M or ML-100K folder.

    Args:
        input_path: the folder holding the GroupLens files.

    Returns:
        Ratings in file order with timestamps and ratings; titles/genres (plus MeLU text when
        present) as item info; demographics as user info.

    Raises:
        DataFormatError: missing folder, no ratings file, or any malformed line.
    """
    folder = require_dir(input_path)
    if (folder / "u.data").is_file():
        return _read_ml100k(folder)
    return _read_ml1m(folder)


def _read_ratings(path: pathlib.Path, sep: str, encoding: str) -> InteractionLog:
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    timestamps: list[int] = []
    lines = iter_lines(path, encoding=encoding, sep=sep, columns=RATING_COLUMNS)
    parse_rating_lines(path, lines, sep, users, items, ratings, timestamps)
    require_nonempty(len(users), path)
    return InteractionLog(
        users=users,
        items=items,
        timestamps=np.asarray(timestamps, dtype=np.int64),
        ratings=np.asarray(ratings, dtype=np.float32),
        inputs=[path],
    )


def parse_rating_lines(
    path: pathlib.Path,
    lines: Iterable[tuple[int, str]],
    sep: str,
    users: list[str],
    items: list[str],
    ratings: list[float],
    timestamps: list[int],
) -> None:
    """Appends the `user item rating timestamp` rows of `lines` (of `path`) to the lists.

    Shared by the single-machine reader and the distributed engine's chunk parser.
    """
    user_ids: dict[str, str] = {}  # token -> canonical id, parsed once per distinct token
    item_ids: dict[str, str] = {}
    for lineno, text in lines:
        if not text.strip():
            continue
        user, item, rating, ts = split_fields(text, sep, RATING_COLUMNS, path, lineno)
        if user not in user_ids:
            user_ids[user] = str(parse_int(user, path, lineno, "user"))
        if item not in item_ids:
            item_ids[item] = str(parse_int(item, path, lineno, "item"))
        users.append(user_ids[user])
        items.append(item_ids[item])
        ratings.append(parse_float(rating, path, lineno, "rating"))
        timestamps.append(parse_int(ts, path, lineno, "timestamp"))


def find_ml1m_ratings(folder: pathlib.Path) -> pathlib.Path:
    """``folder/ratings.dat``, else the one ``ratings*.dat`` there (a renamed copy).

    Raises:
        DataFormatError: neither exists, or several ``ratings*.dat`` files do.
    """
    path = folder / "ratings.dat"
    if path.is_file():
        return path
    candidates = sorted(p for p in folder.glob("ratings*.dat") if p.is_file())
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        problem = f"no u.data or ratings.dat, and not exactly one ratings*.dat (found: {found})"
        raise DataFormatError(folder, None, None, problem)
    logger.warning("%s has no ratings.dat; using %s instead", folder, candidates[0].name)
    return candidates[0]


def _read_ml1m(folder: pathlib.Path) -> InteractionLog:
    return add_ml1m_side(folder, _read_ratings(find_ml1m_ratings(folder), "::", "latin-1"))


def add_ml1m_side(folder: pathlib.Path, log: InteractionLog) -> InteractionLog:
    """Attaches ML-1M's movies, MeLU extra text and users (where present) to `log`."""
    movies = folder / "movies.dat"
    if movies.is_file():
        log.item_info = _read_ml1m_movies(movies)
        log.inputs.append(movies)
    melu = folder / "movies_extrainfos_MeLU.dat"
    if melu.is_file():
        _add_melu_text(melu, log.item_info)
        log.inputs.append(melu)
    users = folder / "users.dat"
    if users.is_file():
        log.user_info = _read_ml1m_users(users)
        log.inputs.append(users)
    return log


def _read_ml1m_movies(path: pathlib.Path) -> dict[str, dict]:
    info: dict[str, dict] = {}
    for lineno, text in iter_lines(path, encoding="latin-1", sep="::", columns=ML1M_MOVIE_COLUMNS):
        if not text.strip():
            continue
        movie, title, genres = split_fields(text, "::", ML1M_MOVIE_COLUMNS, path, lineno)
        key = str(parse_int(movie, path, lineno, "movie_id"))
        info[key] = {"title": title, "genres": genres.split("|") if genres else []}
    return info


def _add_melu_text(path: pathlib.Path, item_info: dict[str, dict]) -> None:
    """Adds director / writers / actors / plot from the MeLU extra-info file."""
    first_text = MELU_COLUMNS.index("director")
    for lineno, text in iter_lines(path, sep="::", columns=MELU_COLUMNS):
        if not text.strip():
            continue
        fields = text.split("::")
        if len(fields) < first_text + len(_MELU_TEXT_FIELDS):
            field = MELU_COLUMNS[len(fields)]
            raise DataFormatError(path, lineno, field, f"missing field: got {len(fields)} fields")
        key = str(parse_int(fields[0], path, lineno, "movie_id"))
        entry = item_info.setdefault(key, {})
        for offset, name in enumerate(_MELU_TEXT_FIELDS):
            entry[name] = fields[first_text + offset].strip()


def _read_ml1m_users(path: pathlib.Path) -> dict[str, dict]:
    info: dict[str, dict] = {}
    for lineno, text in iter_lines(path, encoding="latin-1", sep="::", columns=ML1M_USER_COLUMNS):
        if not text.strip():
            continue
        user, gender, age, occupation, zipcode = split_fields(
            text, "::", ML1M_USER_COLUMNS, path, lineno
        )
        info[str(parse_int(user, path, lineno, "user_id"))] = {
            "gender": gender,
            "age": parse_int(age, path, lineno, "age"),
            "occupation": parse_int(occupation, path, lineno, "occupation"),
            "zip": zipcode,
        }
    return info


def _read_ml100k(folder: pathlib.Path) -> InteractionLog:
    return add_ml100k_side(folder, _read_ratings(folder / "u.data", "\t", "latin-1"))


def add_ml100k_side(folder: pathlib.Path, log: InteractionLog) -> InteractionLog:
    """Attaches ML-100K's genres, items and users (where present) to `log`."""
    items = folder / "u.item"
    if items.is_file():
        genre_path = folder / "u.genre"
        genres = _read_ml100k_genres(genre_path) if genre_path.is_file() else None
        if genres is None:
            logger.warning("%s has no u.genre; item genres are left out", folder)
        else:
            log.inputs.append(genre_path)
        log.item_info = _read_ml100k_items(items, genres)
        log.inputs.append(items)
    users = folder / "u.user"
    if users.is_file():
        log.user_info = _read_ml100k_users(users)
        log.inputs.append(users)
    return log


def _read_ml100k_genres(path: pathlib.Path) -> list[str]:
    columns = ("genre", "index")
    names: dict[int, str] = {}
    for lineno, text in iter_lines(path, encoding="latin-1", sep="|", columns=columns):
        if not text.strip():
            continue
        name, index = split_fields(text, "|", columns, path, lineno)
        names[parse_int(index, path, lineno, "index")] = name
    if sorted(names) != list(range(_NUM_GENRE_FLAGS)):
        raise DataFormatError(
            path, None, "index", f"expected genre indices 0..{_NUM_GENRE_FLAGS - 1}"
        )
    return [names[i] for i in range(_NUM_GENRE_FLAGS)]


def _read_ml100k_items(path: pathlib.Path, genres: list[str] | None) -> dict[str, dict]:
    flag_names = tuple(f"genre[{i}]" for i in range(_NUM_GENRE_FLAGS))
    columns = ML100K_ITEM_COLUMNS + flag_names
    info: dict[str, dict] = {}
    for lineno, text in iter_lines(path, encoding="latin-1", sep="|", columns=columns):
        if not text.strip():
            continue
        fields = split_fields(text, "|", columns, path, lineno)
        key = str(parse_int(fields[0], path, lineno, "movie_id"))
        entry: dict = {"title": fields[1], "release_date": fields[2]}
        if genres is not None:
            flags = fields[len(ML100K_ITEM_COLUMNS) :]
            for name, flag in zip(flag_names, flags, strict=True):
                if flag not in ("0", "1"):
                    raise DataFormatError(path, lineno, name, f"expected 0 or 1, got {flag!r}")
            entry["genres"] = [g for g, flag in zip(genres, flags, strict=True) if flag == "1"]
        info[key] = entry
    return info


def _read_ml100k_users(path: pathlib.Path) -> dict[str, dict]:
    info: dict[str, dict] = {}
    for lineno, text in iter_lines(path, encoding="latin-1", sep="|", columns=ML100K_USER_COLUMNS):
        if not text.strip():
            continue
        user, age, gender, occupation, zipcode = split_fields(
            text, "|", ML100K_USER_COLUMNS, path, lineno
        )
        info[str(parse_int(user, path, lineno, "user_id"))] = {
            "gender": gender,
            "age": parse_int(age, path, lineno, "age"),
            "occupation": occupation,
            "zip": zipcode,
        }
    return info
