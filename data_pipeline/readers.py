"""Registry of input formats: `--source` name -> reader function.

The source names are part of the command-line contract (`jaxrec data prepare --source ...`):

| source           | `--input` | reader                                   |
|------------------|-----------|------------------------------------------|
| `sasrec-txt`     | file      | `readers_text.read_sasrec_txt`           |
| `s3rec-txt`      | file      | `readers_text.read_s3rec_txt`            |
| `movielens`      | folder    | `readers_movielens.read_movielens`       |
| `amazon-reviews` | file      | `readers_amazon.read_amazon_reviews`     |
| `recbole-atomic` | folder    | `readers_recbole.read_recbole_atomic`    |
"""

import logging
import os
import pathlib
from collections.abc import Callable

from data_pipeline.interaction_log import InteractionLog
from data_pipeline.readers_amazon import read_amazon_reviews
from data_pipeline.readers_movielens import read_movielens
from data_pipeline.readers_recbole import read_recbole_atomic
from data_pipeline.readers_text import read_s3rec_txt, read_sasrec_txt

__all__ = ["READERS", "InteractionLog", "read"]

logger = logging.getLogger(__name__)

Reader = Callable[[str | os.PathLike[str]], InteractionLog]

READERS: dict[str, Reader] = {
    "sasrec-txt": read_sasrec_txt,
    "s3rec-txt": read_s3rec_txt,
    "movielens": read_movielens,
    "amazon-reviews": read_amazon_reviews,
    "recbole-atomic": read_recbole_atomic,
}


def get_reader(source: str) -> Reader:
    """Returns the reader registered for `source`.

    Raises:
        ValueError: unknown source name (the message lists the known ones).
    """
    try:
        return READERS[source]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise ValueError(f"unknown source {source!r}; expected one of: {known}") from None


def read(source: str, input_path: str | os.PathLike[str]) -> InteractionLog:
    """Reads `input_path` with the reader registered for `source`.

    Args:
        source: one of `READERS`.
        input_path: a file or folder, depending on the source (see the module docstring).

    Returns:
        The interactions in file order with raw ids and side information.

    Raises:
        ValueError: unknown source.
        DataFormatError: missing or malformed input.
    """
    reader = get_reader(source)
    log = reader(pathlib.Path(input_path))
    logger.info(
        "read %d interactions of %d users from %s (%s)",
        len(log),
        len(set(log.users)),
        input_path,
        source,
    )
    return log
