"""Which file of each source the distributed engine splits, and the side files the driver reads.

The interaction file is the large one and is parsed in chunks on the cluster; side files
(titles, genres, demographics, attributes) are small and are read on the driver with the
single-machine readers' own functions, in the same order, so `inputs` in the manifest and
`items.jsonl` / `users.jsonl` come out identical.

`recbole-atomic` is not supported: its pre-split layout rebuilds each user's sequence by
chaining rows across three files, which is not a per-line parse.
"""

import pathlib

from data_pipeline.interaction_log import InteractionLog
from data_pipeline.line_reader import require_dir, require_file

# The single-machine readers' side-file parsers, reused so both engines agree.
from data_pipeline.readers_movielens import add_ml1m_side, add_ml100k_side, find_ml1m_ratings
from data_pipeline.readers_text import find_items_tsv, read_item_attributes, read_items_tsv

SUPPORTED = ("sasrec-txt", "s3rec-txt", "movielens", "amazon-reviews")


def _text(path: pathlib.Path, kind: str) -> InteractionLog:
    side = InteractionLog(users=[], items=[], inputs=[path])
    if kind == "pairs":
        tsv = find_items_tsv(path)
        if tsv is not None:
            side.item_info = read_items_tsv(tsv)
            side.inputs.append(tsv)
    else:
        attributes = path.with_name(f"{path.stem}_item2attributes.json")
        if attributes.is_file():
            side.item_info = read_item_attributes(attributes)
            side.inputs.append(attributes)
    return side


def _ml1m(folder: pathlib.Path, ratings: pathlib.Path) -> InteractionLog:
    return add_ml1m_side(folder, InteractionLog(users=[], items=[], inputs=[ratings]))


def _ml100k(folder: pathlib.Path, ratings: pathlib.Path) -> InteractionLog:
    return add_ml100k_side(folder, InteractionLog(users=[], items=[], inputs=[ratings]))


_KINDS = {"sasrec-txt": "pairs", "s3rec-txt": "sequence", "amazon-reviews": "amazon"}
_LATIN1 = "latin-1"


def locate(
    source: str, input_path: pathlib.Path, engine: str = "ray"
) -> tuple[pathlib.Path, str, dict]:
    """The interaction file of `source`, its parser kind and parser options.

    `engine` only names the `--engine` in the unsupported-source message.

    Raises:
        ValueError: a source the distributed engine does not support.
        DataFormatError: missing input.
    """
    if source not in SUPPORTED:
        supported = ", ".join(SUPPORTED)
        raise ValueError(
            f"--engine {engine} does not support source {source!r} (supported: {supported}); "
            "use --engine local"
        )
    if source != "movielens":
        return require_file(input_path), _KINDS[source], {}
    folder = require_dir(input_path)
    if (folder / "u.data").is_file():
        return folder / "u.data", "ratings", {"sep": "\t", "encoding": _LATIN1}
    return find_ml1m_ratings(folder), "ratings", {"sep": "::", "encoding": _LATIN1}


def read_side(source: str, input_path: pathlib.Path, interactions: pathlib.Path) -> InteractionLog:
    """A log without interactions: side information and `inputs`, as the reader fills them.

    Read after the interactions, as the single-machine readers do, so that the first error
    reported for a malformed input is the same.
    """
    if source == "sasrec-txt":
        return _text(interactions, "pairs")
    if source == "s3rec-txt":
        return _text(interactions, "sequence")
    if source == "amazon-reviews":
        return InteractionLog(users=[], items=[], inputs=[interactions])
    folder = pathlib.Path(input_path)
    if interactions.name == "u.data":
        return _ml100k(folder, interactions)
    return _ml1m(folder, interactions)
