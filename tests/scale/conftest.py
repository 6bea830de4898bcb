import pathlib

import pytest

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "tiny.py"


@pytest.fixture(scope="session")
def scale_dataset(tmp_path_factory) -> pathlib.Path:
    """96 users over 39 items: the 40-row item table divides every mesh axis up to 8."""
    root = tmp_path_factory.mktemp("scale")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, 39, seed=0))
    manifest = prepare("sasrec-txt", raw, root / "prepared")
    assert manifest["num_items"] == 39
    return root / "prepared"
