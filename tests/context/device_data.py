"""A tiny RecBole atomic log with a device column, prepared (shared by context tests)."""

import pathlib

from data_pipeline.dataset import PreparedDataset
from data_pipeline.prepare import prepare

DEVICES = ("phone", "tv", "web")


def prepared_device_log(tmp_path: pathlib.Path, *, gap_grows_with_user: bool) -> PreparedDataset:
    """6 users x 5 events; user u's k-th event is on ``DEVICES[(u + k) % 3]``.

    Events are an hour apart, or ``u`` hours with ``gap_grows_with_user`` (so the gap buckets
    differ per user).
    """
    folder = tmp_path / "raw"
    folder.mkdir()
    rows = ["user_id:token\titem_id:token\ttimestamp:float\tdevice:token"]
    for user in range(6):
        for k in range(5):
            when = 1_000_000 + 3600 * k * (user if gap_grows_with_user else 1)
            rows.append(f"u{user}\ti{(user + k) % 7}\t{when}\t{DEVICES[(user + k) % 3]}")
    (folder / "Dev.inter").write_text("\n".join(rows) + "\n")
    prepare("recbole-atomic", folder, tmp_path / "prepared")
    return PreparedDataset.open(tmp_path / "prepared")
