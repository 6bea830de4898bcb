"""Readers for the plain-text sequence files of the SASRec / BERT4Rec / S3-Rec papers.

* `sasrec-txt`: one `user item` pair per line (whitespace separated integers), each user's lines
  in chronological order (`ml-1m_sasrec/ml-1m.txt`, `amazon_beauty_bert4rec/beauty.txt`).
  If a `*_items.tsv` with header `sas_item_id, movielens_movie_id, title, genres` sits next to
  the file, titles and genres become item side information.
* `s3rec-txt`: one user per line, `user item item ...` (`amazon_beauty_s3rec/Beauty.txt`). If
  `<stem>_item2attributes.json` sits next to it, its attribute ids become item side information.

Neither format has timestamps or ratings. Integer ids are kept in canonical form (`"007"` ->
`"7"`), so side-information keys and interaction ids agree.
"""

import logging
import pathlib
from collections.abc import Iterable

from data_pipeline.errors import DataFormatError
from data_pipeline.interaction_log import InteractionLog
from data_pipeline.line_reader import (
    iter_lines,
    load_json,
    parse_int,
    require_file,
    require_nonempty,
    split_fields,
)

logger = logging.getLogger(__name__)

ITEMS_TSV_HEADER = ("sas_item_id", "movielens_movie_id", "title", "genres")
PAIR_COLUMNS = ("user", "item")


def read_sasrec_txt(input_path: str | pathlib.Path) -> InteractionLog:
    """Reads a SASRec-style `user item` file (and its `*_items.tsv` side file, if any).

    Args:
        input_path: the `.txt` file.

    Returns:
        The interactions in file order, without timestamps.

    Raises:
        DataFormatError: missing or empty file, a line without two integer fields.
    """
    path = require_file(input_path)
    users: list[str] = []
    items: list[str] = []
    parse_pair_lines(path, iter_lines(path, columns=PAIR_COLUMNS), users, items)
    require_nonempty(len(users), path)
    log = InteractionLog(users=users, items=items, inputs=[path])
    tsv = find_items_tsv(path)
    if tsv is not None:
        log.item_info = read_items_tsv(tsv)
        log.inputs.append(tsv)
    return log


def parse_pair_lines(
    path: pathlib.Path,
    lines: Iterable[tuple[int, str]],
    users: list[str],
    items: list[str],
) -> None:
    """Appends the `user item` pairs of `lines` ((line number, text) of `path`) to the lists.

    Shared by the single-machine reader and the distributed engine's chunk parser.
    """
    canonical: dict[str, str] = {}  # token -> canonical integer string, parsed once per token
    for lineno, text in lines:
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2:
            field = PAIR_COLUMNS[len(fields)] if len(fields) < 2 else None
            problem = f"expected 2 whitespace-separated fields (user item), got {len(fields)}"
            raise DataFormatError(path, lineno, field, problem)
        user, item = canonical.get(fields[0]), canonical.get(fields[1])
        if user is None:
            user = canonical[fields[0]] = str(parse_int(fields[0], path, lineno, "user"))
        if item is None:
            item = canonical[fields[1]] = str(parse_int(fields[1], path, lineno, "item"))
        users.append(user)
        items.append(item)


def parse_sequence_lines(
    path: pathlib.Path,
    lines: Iterable[tuple[int, str]],
    users: list[str],
    items: list[str],
) -> None:
    """Appends the pairs of each `user item item ...` line of `path` to the lists.

    Shared by the single-machine reader and the distributed engine's chunk parser.
    """
    for lineno, text in lines:
        fields = text.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise DataFormatError(path, lineno, "item", "missing field: user has no items")
        user = str(parse_int(fields[0], path, lineno, "user"))
        for position, token in enumerate(fields[1:], start=1):
            items.append(str(parse_int(token, path, lineno, f"item[{position}]")))
        users.extend([user] * (len(fields) - 1))


def find_items_tsv(path: pathlib.Path) -> pathlib.Path | None:
    """The ``*_items.tsv`` side file next to ``path`` (one named after it first), or None."""
    candidates = sorted(path.parent.glob("*_items.tsv"))
    preferred = [c for c in candidates if c.name.startswith(path.stem)]
    candidates = preferred or candidates
    if len(candidates) > 1:
        names = ", ".join(c.name for c in candidates)
        logger.warning("several item files next to %s (%s); using none", path, names)
        return None
    return candidates[0] if candidates else None


def read_items_tsv(path: pathlib.Path) -> dict[str, dict]:
    """Reads `sas_item_id, movielens_movie_id, title, genres` rows into item side info."""
    info: dict[str, dict] = {}
    for lineno, text in iter_lines(path, sep="\t", columns=ITEMS_TSV_HEADER):
        if lineno == 1:
            if tuple(text.split("\t")) != ITEMS_TSV_HEADER:
                expected = "\\t".join(ITEMS_TSV_HEADER)
                raise DataFormatError(path, 1, None, f"expected header {expected!r}")
            continue
        if not text:
            continue
        item, movie, title, genres = split_fields(text, "\t", ITEMS_TSV_HEADER, path, lineno)
        key = str(parse_int(item, path, lineno, "sas_item_id"))
        info[key] = {
            "movielens_id": parse_int(movie, path, lineno, "movielens_movie_id"),
            "title": title,
            "genres": genres.split("|") if genres else [],
        }
    logger.info("read titles/genres of %d items from %s", len(info), path)
    return info


def read_s3rec_txt(input_path: str | pathlib.Path) -> InteractionLog:
    """Reads an S3-Rec-style file, one user per line: `user item item ...`.

    Args:
        input_path: the `.txt` file; `<stem>_item2attributes.json` next to it is optional.

    Returns:
        The interactions in file order, without timestamps.

    Raises:
        DataFormatError: missing or empty file, a line without items, a non-integer id, or a
            malformed attribute file.
    """
    path = require_file(input_path)
    users: list[str] = []
    items: list[str] = []
    parse_sequence_lines(path, iter_lines(path, columns=PAIR_COLUMNS), users, items)
    require_nonempty(len(users), path)
    log = InteractionLog(users=users, items=items, inputs=[path])
    attributes = path.with_name(f"{path.stem}_item2attributes.json")
    if attributes.is_file():
        log.item_info = read_item_attributes(attributes)
        log.inputs.append(attributes)
    return log


def read_item_attributes(path: pathlib.Path) -> dict[str, dict]:
    """Reads `{"item": [attribute ids]}` into item side info."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(path, 1, None, "expected a JSON object mapping item id -> list")
    info: dict[str, dict] = {}
    for key, values in data.items():
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise DataFormatError(path, None, key, "expected a list of integer attribute ids")
        info[str(parse_int(key, path, None, "item id"))] = {"attributes": values}
    logger.info("read attributes of %d items from %s", len(info), path)
    return info
