import pathlib

import pytest

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "tiny.py"


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> pathlib.Path:
    """A prepared synthetic dataset: 96 users, 40 items."""
    root = tmp_path_factory.mktemp("tiny")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, 40, seed=0))
    prepare("sasrec-txt", raw, root / "prepared")
    return root / "prepared"
