"""Reader for RecBole atomic files, given as a folder.

Two layouts are understood:

* plain `<name>.inter` with a typed header such as
  `user_id:token  item_id:token  rating:float  timestamp:float` (tab separated); timestamps are
  truncated to int64 seconds; a `device` or `location` column (any type) becomes the
  per-interaction device/location context column; other columns are ignored;
* pre-split `<name>.train.inter / .valid.inter / .test.inter` with header
  `user_id:token  item_id_list:token_seq  item_id:token` (UniSRec / Recformer downloads).

Optional side files: `<name>.item2index` / `<name>.user2index` (`raw id <TAB> index`), used to
map the indices in the `.inter` files back to raw ids (e.g. ASINs), and `<name>.text`
(`item_id:token <TAB> text:token_seq`, keyed by raw item id), kept as item info `text`.

The pre-split layout stores one row per prediction target: train rows for every prefix, then one
valid row and one test row per user, whose histories may be truncated to the last `L` items (the
UniSRec files use L = 50). Each user's full sequence is rebuilt by chaining the train rows from
the shortest history (row with history `h` and target `t` is followed by the row whose history is
the last `L` items of `h + [t]`), then appending the valid and test targets; every row must fit
this sequence or a DataFormatError names it. The given split is recorded per raw user; users are
listed in order of first appearance in the test file (then valid, then train).
"""

import collections
import dataclasses
import pathlib
import re

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

_SPLITS = ("train", "valid", "test")
_SPLIT_RE = re.compile(r"^(?P<name>.+)\.(?P<split>train|valid|test)\.inter$")


@dataclasses.dataclass(frozen=True)
class _Row:
    path: pathlib.Path
    line: int
    history: tuple[str, ...]
    target: str


@dataclasses.dataclass
class _Table:
    path: pathlib.Path
    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]


def read_recbole_atomic(input_path: str | pathlib.Path) -> InteractionLog:
    """Reads a RecBole atomic dataset folder (plain or pre-split, see the module docstring).

    Args:
        input_path: the folder holding `<name>.inter` or `<name>.{train,valid,test}.inter`.

    Returns:
        The interactions (per user, in sequence order for pre-split data), item text as item
        info, and `given_split` for pre-split data.

    Raises:
        DataFormatError: missing folder or files, a malformed line, an index without raw id, or
            pre-split rows that do not form one sequence per user.
    """
    folder = require_dir(input_path)
    name, inter_files = _find_inter_files(folder)
    inputs = list(inter_files)
    maps = {}
    for kind in ("user", "item"):
        index_path = folder / f"{name}.{kind}2index"
        maps[kind] = _read_index(index_path) if index_path.is_file() else None
        if maps[kind] is not None:
            inputs.append(index_path)
    tables = [_read_table(path, maps["user"], maps["item"]) for path in inter_files]
    log = _plain_log(tables[0]) if len(tables) == 1 else _presplit_log(*tables)
    text_path = folder / f"{name}.text"
    if text_path.is_file():
        log.item_info = _read_text(text_path)
        inputs.append(text_path)
    log.inputs = inputs
    return log


def _find_inter_files(folder: pathlib.Path) -> tuple[str, list[pathlib.Path]]:
    inter = sorted(p for p in folder.glob("*.inter") if p.is_file())
    split_files: dict[str, dict[str, pathlib.Path]] = collections.defaultdict(dict)
    for path in inter:
        match = _SPLIT_RE.match(path.name)
        if match:
            split_files[match["name"]][match["split"]] = path
    if len(split_files) > 1:
        raise DataFormatError(folder, None, None, f"several datasets: {sorted(split_files)}")
    if split_files:
        name, files = next(iter(split_files.items()))
        missing = [s for s in _SPLITS if s not in files]
        if missing:
            raise DataFormatError(folder, None, None, f"missing {name}.{missing[0]}.inter")
        return name, [files[s] for s in _SPLITS]
    if len(inter) != 1:
        found = ", ".join(p.name for p in inter) or "none"
        problem = f"expected one <name>.inter or a .train/.valid/.test.inter set, found {found}"
        raise DataFormatError(folder, None, None, problem)
    return inter[0].name.removesuffix(".inter"), inter


def _read_index(path: pathlib.Path) -> dict[str, str]:
    """Reads `raw id <TAB> index` lines into index -> raw id."""
    columns = ("raw_id", "index")
    raw_of: dict[str, str] = {}
    for lineno, text in iter_lines(path, sep="\t", columns=columns):
        if not text.strip():
            continue
        raw, index = split_fields(text, "\t", columns, path, lineno)
        key = str(parse_int(index, path, lineno, "index"))
        if key in raw_of:
            raise DataFormatError(path, lineno, "index", f"index {key} appears twice")
        raw_of[key] = raw
    require_nonempty(len(raw_of), path)
    return raw_of


def _parse_header(path: pathlib.Path, text: str, required: tuple[str, ...]) -> dict[str, int]:
    columns = {}
    for position, spec in enumerate(text.split("\t")):
        base, _, kind = spec.partition(":")
        if not kind:
            raise DataFormatError(path, 1, spec, "header column has no ':type' suffix")
        columns[base] = position
    for name in required:
        if name not in columns:
            raise DataFormatError(path, 1, name, "missing column in header")
    return columns


def _read_table(
    path: pathlib.Path, user_map: dict[str, str] | None, item_map: dict[str, str] | None
) -> _Table:
    """Reads a `.inter` file; `item_id_list` stays one space-separated string per row."""
    lines = iter_lines(path, sep="\t")
    header = next(lines, None)
    if header is None or not header[1].strip():
        raise DataFormatError(path, None, None, "file is empty (no header)")
    presplit = _SPLIT_RE.match(path.name) is not None
    required = ("user_id", "item_id_list", "item_id") if presplit else ("user_id", "item_id")
    columns = _parse_header(path, header[1], required)
    names = tuple(sorted(columns, key=columns.get))
    rows = []
    for lineno, text in lines:
        if not text.strip():
            continue
        fields = split_fields(text, "\t", names, path, lineno)
        for name, mapping in (("user_id", user_map), ("item_id", item_map)):
            fields[columns[name]] = _map(mapping, fields[columns[name]], path, lineno, name)
        if "item_id_list" in columns:
            tokens = fields[columns["item_id_list"]].split()
            mapped = [_map(item_map, t, path, lineno, "item_id_list") for t in tokens]
            fields[columns["item_id_list"]] = " ".join(mapped)
        rows.append((lineno, fields))
    require_nonempty(len(rows), path)
    return _Table(path, columns, rows)


def _map(
    mapping: dict[str, str] | None, token: str, path: pathlib.Path, line: int, field: str
) -> str:
    if mapping is None:
        return token
    try:
        return mapping[token]
    except KeyError:
        raise DataFormatError(path, line, field, f"index {token!r} has no raw id") from None


def _plain_log(table: _Table) -> InteractionLog:
    col, path = table.columns, table.path
    users = [fields[col["user_id"]] for _, fields in table.rows]
    items = [fields[col["item_id"]] for _, fields in table.rows]
    log = InteractionLog(users=users, items=items)
    if "timestamp" in col:
        values = [
            int(parse_float(f[col["timestamp"]], path, n, "timestamp")) for n, f in table.rows
        ]
        log.timestamps = np.asarray(values, dtype=np.int64)
    if "rating" in col:
        values = [parse_float(f[col["rating"]], path, n, "rating") for n, f in table.rows]
        log.ratings = np.asarray(values, dtype=np.float32)
    slot = next((name for name in ("device", "location") if name in col), None)
    if slot is not None:
        log.devices = [fields[col[slot]].strip() for _, fields in table.rows]
    return log


def _rows_by_user(table: _Table) -> dict[str, list[_Row]]:
    col = table.columns
    by_user: dict[str, list[_Row]] = collections.defaultdict(list)
    for lineno, fields in table.rows:
        history = tuple(fields[col["item_id_list"]].split())
        if not history:
            raise DataFormatError(table.path, lineno, "item_id_list", "empty history")
        row = _Row(table.path, lineno, history, fields[col["item_id"]])
        by_user[fields[col["user_id"]]].append(row)
    return by_user


def _presplit_log(train: _Table, valid: _Table, test: _Table) -> InteractionLog:
    by_split = [_rows_by_user(t) for t in (train, valid, test)]
    for split, table, rows in zip(_SPLITS[1:], (valid, test), by_split[1:], strict=True):
        for user, user_rows in rows.items():
            if len(user_rows) > 1:
                problem = f"user {user!r} has {len(user_rows)} {split} rows, expected one"
                raise DataFormatError(table.path, user_rows[1].line, "user_id", problem)
    max_len = max(len(r.history) for rows in by_split for rs in rows.values() for r in rs)
    users: list[str] = []
    items: list[str] = []
    given: dict[str, dict[str, int]] = {}
    # Users in order of first appearance in the test rows, then valid, then train rows.
    for user in dict.fromkeys(u for rows in reversed(by_split) for u in rows):
        valid_row = by_split[1].get(user, [None])[0]
        test_row = by_split[2].get(user, [None])[0]
        sequence = _rebuild_sequence(user, by_split[0].get(user, []), valid_row, test_row, max_len)
        n_valid, n_test = int(valid_row is not None), int(test_row is not None)
        given[user] = {
            "n_train": len(sequence) - n_valid - n_test,
            "n_valid": n_valid,
            "n_test": n_test,
        }
        users.extend([user] * len(sequence))
        items.extend(sequence)
    return InteractionLog(users=users, items=items, given_split=given)


def _rebuild_sequence(
    user: str, train: list[_Row], valid: _Row | None, test: _Row | None, max_len: int
) -> list[str]:
    """Chains one user's rows into the full sequence (see the module docstring)."""
    if train:
        sequence = list(min(train, key=lambda r: len(r.history)).history)
    else:
        sequence = list((valid or test).history)
    pending: dict[tuple[str, ...], collections.deque[_Row]] = collections.defaultdict(
        collections.deque
    )
    for row in train:
        pending[row.history].append(row)
    for _ in train:
        queue = pending.get(tuple(sequence[-max_len:]))
        if not queue:
            leftover = min((r for q in pending.values() for r in q), key=lambda r: r.line)
            problem = f"train rows of user {user!r} are not prefixes of one sequence"
            raise DataFormatError(leftover.path, leftover.line, "item_id_list", problem)
        sequence.append(queue.popleft().target)
    for row in (valid, test):
        if row is None:
            continue
        if row.history != tuple(sequence[-max_len:]):
            problem = f"history of user {user!r} does not continue the train rows"
            raise DataFormatError(row.path, row.line, "item_id_list", problem)
        sequence.append(row.target)
    return sequence


def _read_text(path: pathlib.Path) -> dict[str, dict]:
    """Reads `item_id:token <TAB> text:token_seq` into item info `{"text": ...}`."""
    lines = iter_lines(path, sep="\t", columns=("item_id", "text"))
    header = next(lines, None)
    if header is None or not header[1].strip():
        raise DataFormatError(path, None, None, "file is empty (no header)")
    columns = _parse_header(path, header[1], ("item_id", "text"))
    names = tuple(sorted(columns, key=columns.get))
    info: dict[str, dict] = {}
    for lineno, text in lines:
        if not text.strip():
            continue
        fields = text.split("\t", len(names) - 1)
        if len(fields) < len(names):
            fields = split_fields(text, "\t", names, path, lineno)
        info[fields[columns["item_id"]]] = {"text": fields[columns["text"]].strip()}
    return info
