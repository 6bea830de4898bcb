import json

import pytest

from jaxrec.atomic_io import atomic_write, write_json
from jaxrec.report import format_table


def test_atomic_write_leaves_previous_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})

    def explode(handle):
        handle.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_report_table_shows_gain_over_mostpop():
    result = {
        "model": "sasrec",
        "split": "test",
        "num_users": 2,
        "num_items": 5,
        "protocol": "full",
        "exclude_seen": True,
        "ndcg@10": 0.2,
        "hr@10": 0.3,
        "baselines": {"mostpop": {"ndcg@10": 0.1, "hr@10": 0.3}},
    }
    table = format_table(result)
    assert "protocol=full" in table and "exclude_seen=True" in table
    assert "+100%" in table.splitlines()[2] and "+0%" in table.splitlines()[3]
