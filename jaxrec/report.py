"""Prints an evaluation JSON (``jaxrec evaluate --out``) as a metric table.

python -m jaxrec.report runs/demo/test_metrics.json
"""

from __future__ import annotations

import json
import pathlib
import sys

ROWS = ("ndcg@10", "hr@10", "ndcg@20", "hr@20", "mrr", "auc", "coverage@10")


def format_table(result: dict) -> str:
    """Model vs MostPop, one metric per row, with the relative improvement."""
    mostpop = result.get("baselines", {}).get("mostpop", {})
    header = (
        f"{result['model']} on {result['split']} split: {result['num_users']} users, "
        f"{result['num_items']} items, protocol={result['protocol']}, "
        f"exclude_seen={result['exclude_seen']}"
    )
    lines = [header, f"{'metric':<12}{'model':>10}{'MostPop':>10}{'gain':>9}"]
    for name in ROWS:
        if name not in result:
            continue
        base = mostpop.get(name)
        gain = f"{result[name] / base - 1:+.0%}" if base else "-"
        base_text = f"{base:.4f}" if base is not None else "-"
        lines.append(f"{name:<12}{result[name]:>10.4f}{base_text:>10}{gain:>9}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """CLI: one or more result files."""
    for path in argv:
        print(format_table(json.loads(pathlib.Path(path).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
