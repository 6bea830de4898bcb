"""Column layout of the context features (shared by the data pipeline, config and model).

A context batch is ``int32[B, L, F]``: per position the ``EVENT_COLUMNS`` of that
interaction, then the ``USER_COLUMNS`` of the user (static: repeated at every position,
padding included). Id 0 is "unknown" in every column (missing field, no timestamp, padding).
"""

# (name, vocabulary size including id 0 = unknown).
EVENT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("hour", 25),  # 1 + UTC hour of the interaction
    ("weekday", 8),  # 1 + weekday (Monday = 1)
    ("gap", 22),  # 1 = first interaction, 2 + log2 bucket of the gap in minutes (capped)
    ("device", 33),  # 1 + index in the dataset's sorted device vocabulary (capped)
    ("sentiment", 6),  # 1..5: VADER compound of the interaction's review, bucketed
)
USER_COLUMNS: tuple[tuple[str, int], ...] = (
    ("age", 8),  # MovieLens age groups (<18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+)
    ("gender", 3),  # 1 = F, 2 = M
    ("occupation", 33),  # 1 + index in the sorted occupation vocabulary (capped)
    ("region", 12),  # 1 + first digit of a US zip code; 11 = other
)
# Which switch of ``model.context`` owns which columns.
GROUPS: dict[str, tuple[str, ...]] = {
    "time": ("hour", "weekday", "gap"),
    "device": ("device",),
    "sentiment": ("sentiment",),
    "user": ("age", "gender", "occupation", "region"),
}
NUM_EVENT = len(EVENT_COLUMNS)
NUM_COLUMNS = NUM_EVENT + len(USER_COLUMNS)


def column_index(name: str) -> int:
    """Position of column ``name`` in the last axis of a context batch."""
    names = [n for n, _ in (*EVENT_COLUMNS, *USER_COLUMNS)]
    return names.index(name)


def vocab_size(name: str) -> int:
    """Number of ids (0 included) of column ``name``."""
    return dict((*EVENT_COLUMNS, *USER_COLUMNS))[name]
