"""Item id mapping of an export: original (raw) ids <-> internal ids, titles, side info.

Internal ids are what the scoring function sees: 1..num_items, 0 = padding. Original ids
are the dataset's own (strings, as in the raw logs). The mapping is the dataset's
``items.jsonl``, copied into the export directory (and covered by its checksum).

    catalog = Catalog.load("exports/ml1m_onnx")
    ids, unknown = catalog.lookup(["1193", "661", "nope"])   # [17, 40], ["nope"]
    catalog.to_original(17), catalog.title(17)
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable

from jaxrec.export.artifact import ITEMS_FILE, ExportError

PAD_ID = 0


class UnknownItemError(KeyError):
    """An original item id that the exported model does not know."""


class Catalog:
    """The exported model's catalogue, indexed by internal id (row 0 = padding)."""

    def __init__(self, rows: list[dict]):
        """Builds the maps from ``items.jsonl`` rows ordered by internal id 1..I."""
        self._raw = ["<pad>"] + [str(row["raw_id"]) for row in rows]
        self._info = [{}] + [
            {k: v for k, v in row.items() if k not in ("id", "raw_id")} for row in rows
        ]
        self._index = {raw: i for i, raw in enumerate(self._raw) if i > 0}

    @classmethod
    def load(cls, export_dir: str | pathlib.Path) -> Catalog:
        """Reads ``EXPORT_DIR/items.jsonl``.

        Raises:
            ExportError: file missing, corrupt JSON, or ids out of order (names file and line).
        """
        path = pathlib.Path(export_dir) / ITEMS_FILE
        if not path.is_file():
            raise ExportError(f"{path}: missing; the export has no item catalogue")
        rows = []
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ExportError(f"{path}:{lineno}: corrupt JSON: {err.msg}") from err
            if row.get("id") != lineno or "raw_id" not in row:
                raise ExportError(f"{path}:{lineno}: expected id {lineno} and a raw_id")
            rows.append(row)
        return cls(rows)

    @property
    def num_items(self) -> int:
        """Number of real items I (internal ids 1..I)."""
        return len(self._raw) - 1

    def __contains__(self, raw_id: object) -> bool:
        """Whether an original id is in the catalogue."""
        return str(raw_id) in self._index

    def to_internal(self, raw_id: str) -> int:
        """Internal id of an original id.

        Raises:
            UnknownItemError: the id is not in the catalogue.
        """
        try:
            return self._index[str(raw_id)]
        except KeyError:
            raise UnknownItemError(f"unknown item id {raw_id!r}") from None

    def lookup(self, raw_ids: Iterable[str]) -> tuple[list[int], list[str]]:
        """(internal ids of the known ids in order, the unknown original ids)."""
        known, unknown = [], []
        for raw in raw_ids:
            index = self._index.get(str(raw))
            if index is None:
                unknown.append(str(raw))
            else:
                known.append(index)
        return known, unknown

    def _check(self, internal: int) -> int:
        internal = int(internal)
        if not 0 < internal < len(self._raw):
            raise UnknownItemError(f"internal item id {internal} outside 1..{self.num_items}")
        return internal

    def to_original(self, internal: int) -> str:
        """Original id of an internal id (1..I)."""
        return self._raw[self._check(internal)]

    def title(self, internal: int) -> str | None:
        """The item's title, or None when the dataset has none."""
        title = self._info[self._check(internal)].get("title")
        return None if title is None else str(title)

    def info(self, internal: int) -> dict:
        """All side information of an item (title, genres, ...), without the ids."""
        return dict(self._info[self._check(internal)])
