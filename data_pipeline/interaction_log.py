"""`InteractionLog`: what every reader returns, before ordering, filtering and splitting."""

import dataclasses
import pathlib

import numpy as np


@dataclasses.dataclass
class InteractionLog:
    """All interactions of one dataset, in file order, with raw (string) ids.

    Attributes:
        users: raw user id per interaction, in file order.
        items: raw item id per interaction, aligned with `users`.
        timestamps: int64[N] per interaction, or None when the format has none.
        ratings: float32[N] per interaction, or None.
        reviews: review text per interaction (Amazon reviews), or None.
        item_info: raw item id -> side information (title, genres, text, attributes, ...).
        user_info: raw user id -> attributes (gender, age, occupation, zip, ...).
        given_split: only for data that arrive already split (RecBole `.train/.valid/.test`):
            raw user id -> `{"n_train": int, "n_valid": 0 | 1, "n_test": 0 | 1}`; None otherwise.
        inputs: every file that was read, in reading order (hashed into the manifest).
        devices: device / location per interaction (a context feature), or None.
    """

    users: list[str]
    items: list[str]
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None
    reviews: list[str] | None = None
    item_info: dict[str, dict] = dataclasses.field(default_factory=dict)
    user_info: dict[str, dict] = dataclasses.field(default_factory=dict)
    given_split: dict[str, dict[str, int]] | None = None
    inputs: list[pathlib.Path] = dataclasses.field(default_factory=list)
    devices: list[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.users)
        if len(self.items) != n:
            raise ValueError(f"{len(self.items)} items for {n} users")
        for name in ("timestamps", "ratings", "reviews", "devices"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"{len(column)} {name} for {n} interactions")

    def __len__(self) -> int:
        return len(self.users)
