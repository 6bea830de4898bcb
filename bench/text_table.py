"""Markdown tables from bench/results/text_*_{valid,test}.json (bench/text_scientific.sh)."""

import json
import pathlib
import sys

RESULTS = pathlib.Path("bench/results")


def _load(name: str, split: str) -> dict | None:
    path = RESULTS / f"text_{name}_{split}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def main(names: list[str]) -> None:
    """Prints one row per run: valid/test NDCG@10 and HR@10, and the cold-item block."""
    print("| run | valid NDCG@10 | test NDCG@10 | test HR@10 | cold HR@10 | cold NDCG@10 |")
    print("|---|---|---|---|---|---|")
    for name in names:
        valid, test = _load(name, "valid"), _load(name, "test")
        if test is None:
            continue
        cold = test.get("cold_items") or {}
        cells = [
            f"{valid['ndcg@10']:.4f}" if valid else "",
            f"{test['ndcg@10']:.4f}",
            f"{test['hr@10']:.4f}",
            f"{cold['hr@10']:.4f}" if cold.get("hr@10") is not None else "",
            f"{cold['ndcg@10']:.4f}" if cold.get("ndcg@10") is not None else "",
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name in names:
        test = _load(name, "test")
        if test and test.get("cold_items"):
            c = test["cold_items"]
            print(
                f"\n{name}: {c['num_events']} cold test events over {c['num_cold_items']} cold "
                f"items; random HR@10 {c['random']['hr@10']:.4f} NDCG@10 "
                f"{c['random']['ndcg@10']:.4f}; MostPop HR@10 {c['mostpop']['hr@10']:.4f}; "
                f"model/random {c['hr@10_over_random']:.1f}x"
            )
            m = test["baselines"]["mostpop"]
            print(f"  all test users: MostPop NDCG@10 {m['ndcg@10']:.4f} HR@10 {m['hr@10']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
