"""Tiny inputs with the cases the distributed engine must get right, and an equality check.

"Identical" means: the same file names in the prepared directory and every file byte-equal
(shards, `items.jsonl`, `users.jsonl`, `manifest.json`; the manifest holds no dates and the
resolved input paths, which both engines read from the same place).
"""

import gzip
import json
import pathlib

from tests.data_pipeline.builders import make_ml1m, make_ml100k


def make_sasrec(folder: pathlib.Path) -> pathlib.Path:
    """Interleaved users, non-canonical ids ("007"), a blank line, an items TSV."""
    folder.mkdir(exist_ok=True)
    lines = ["3 5", "1 007", "3 2", "", "2 5", "1 5", "10 1", "3 1", "1 2", "3 9", "2 1", "2 2"]
    (folder / "seq.txt").write_text("\n".join(lines * 3) + "\n")
    header = "sas_item_id\tmovielens_movie_id\ttitle\tgenres\n"
    (folder / "seq_items.tsv").write_text(header + "5\t50\tFive\tA|B\n7\t70\tSeven\t\n")
    return folder / "seq.txt"


def make_s3rec(folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir(exist_ok=True)
    (folder / "B.txt").write_text("1 4 5 6 7\n2 5 4 4\n\n3 9 8 7 6 5\n1 9\n")
    (folder / "B_item2attributes.json").write_text(json.dumps({"4": [1, 2], "9": [3]}))
    return folder / "B.txt"


def make_amazon(folder: pathlib.Path) -> pathlib.Path:
    """String ids (first-appearance order), equal timestamps (file order), reviews."""
    folder.mkdir(exist_ok=True)
    rows = []
    for n in range(30):
        user = f"U{(n * 7) % 5}"
        item = f"B{(n * 3) % 7:03d}"
        rows.append(
            {
                "reviewerID": user,
                "asin": item,
                "overall": float(n % 5 + 1),
                "unixReviewTime": 1000 + (n % 4) * 10,
                "summary": f"s{n}" + ("!" if n % 2 else ""),
                "reviewText": f"body {n} caf\u00e9",
            }
        )
    text = "".join(json.dumps(r) + "\n" for r in rows)
    path = folder / "reviews.json"
    path.write_text(text.replace("\n", "\n\n", 1), encoding="utf-8")
    return path


def make_amazon_gz(folder: pathlib.Path) -> pathlib.Path:
    """The same reviews gzip-compressed (one chunk: gzip cannot be split)."""
    path = make_amazon(folder)
    gz = folder / "reviews.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return gz


def make_movielens(folder: pathlib.Path, release: str) -> pathlib.Path:
    """ML-1M (with more ratings and ties) or ML-100K, from `builders`."""
    if release == "ml-100k":
        return make_ml100k(folder)
    make_ml1m(folder)
    extra = "".join(f"{u}::{i}::{(u + i) % 5 + 1}::97830{(u * i) % 3}\n" for u in (3, 2, 4, 1)
                    for i in (30, 10, 20, 40))  # fmt: skip
    with (folder / "ratings.dat").open("a") as f:
        f.write(extra)
    return folder


def tree_bytes(folder: pathlib.Path) -> dict[str, bytes]:
    """File name -> content of every file in a prepared dataset directory."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
