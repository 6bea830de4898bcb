"""VADER sentiment of Musical Instruments reviews vs their star ratings -> JSON.

    .venv/bin/python bench/sentiment_agreement.py --data data/musical \
        --out bench/results/sentiment_musical.json
"""

import argparse
import json
import pathlib
import time

import numpy as np

from data_pipeline.dataset import PreparedDataset
from jaxrec.atomic_io import write_json
from jaxrec.text.sentiment import agreement, vader_compound


def main() -> None:
    """Scores every review of the prepared dataset and writes the agreement report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    texts, stars = [], []
    for rec in PreparedDataset.open(args.data).records():
        if rec.reviews is None or rec.ratings is None:
            raise SystemExit(f"{args.data}: the dataset has no review text or ratings")
        texts.extend(rec.reviews)
        stars.extend(rec.ratings.tolist())
    started = time.perf_counter()
    compound = vader_compound(texts)
    report = agreement(compound, np.asarray(stars, np.float32))
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["data"] = str(args.data)
    write_json(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
