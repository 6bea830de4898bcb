"""Item text rendering and the cached item-feature file (with a stub encoder)."""

import json

import numpy as np
import pytest

from data_pipeline.prepare import prepare
from jaxrec import config as config_lib
from jaxrec.text import encode, features


def test_item_text_joins_known_fields():
    movie = {"id": 1, "raw_id": "1", "title": "Toy Story (1995)", "genres": ["Animation", "Comedy"]}
    assert features.item_text(movie) == "Toy Story (1995). Animation, Comedy"
    amazon = {"id": 2, "raw_id": "B0", "text": "Sanding Roll. Abrasives. PORTER-CABLE. "}
    assert features.item_text(amazon) == "Sanding Roll. Abrasives. PORTER-CABLE"
    assert features.item_text({"id": 3, "raw_id": "x"}) == ""


class _StubEncoder:
    calls = 0

    def encode(self, texts, batch_size=64):
        _StubEncoder.calls += 1
        out = np.zeros((len(texts), 384), np.float32)
        out[:, 0] = [len(t) for t in texts]
        return out


def test_item_features_are_cached(text_dataset, monkeypatch):
    monkeypatch.setattr(encode, "SentenceEncoder", _StubEncoder)
    _StubEncoder.calls = 0
    path = features.item_features(text_dataset)
    again = features.item_features(text_dataset)
    assert path == again and _StubEncoder.calls == 1
    data = np.load(path)
    assert data["text"].shape == (5, 384) and not data["text"][0].any()
    # rows follow item ids: "Movie 1. Drama, Comedy" has 22 characters
    assert data["text"][1, 0] == len("Movie 1. Drama, Comedy")
    # item 4 is only ever a validation/test target here -> not warm
    assert data["warm"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_resolve_text_config_fills_the_path(text_dataset, monkeypatch):
    monkeypatch.setattr(encode, "SentenceEncoder", _StubEncoder)
    cfg = config_lib.TrainConfig(model=config_lib.ModelConfig(name="sasrec_text"))
    resolved = features.resolve_text_config(cfg, text_dataset)
    assert resolved.model.text_features.endswith(".npz")
    plain = config_lib.TrainConfig()
    assert features.resolve_text_config(plain, text_dataset) is plain


def test_no_text_is_an_error(tmp_path):
    raw = tmp_path / "plain.txt"
    raw.write_text("1 1\n1 2\n1 3\n", encoding="utf-8")
    prepare("sasrec-txt", raw, tmp_path / "p")
    with pytest.raises(ValueError, match="no item has text"):
        features.item_features(tmp_path / "p")
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["num_items"] == 3


def test_classical_featurizers(text_dataset):
    from jaxrec.text.classical import tokenize, word2vec_vectors

    assert tokenize("The Printers are printing 3D parts!") == ["printer", "print", "3d", "part"]
    texts = ["red guitar strings", "blue guitar strings", "red drum sticks", "blue drum sticks"]
    w2v = word2vec_vectors(texts * 5, dim=8, epochs=5)
    assert w2v.shape == (20, 8)
    np.testing.assert_allclose(np.linalg.norm(w2v, axis=1), 1.0, rtol=1e-5)
    path = features.classical_item_features(text_dataset, "tfidf")
    data = np.load(path)
    assert data["text"].shape[0] == 5 and not data["text"][0].any()
    with pytest.raises(ValueError, match="featurizer"):
        features.classical_item_features(text_dataset, "bow")


def test_whiten_decorrelates_and_normalises():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 12)) @ rng.normal(size=(12, 12))
    out = features.whiten(x.astype(np.float32), 4)
    assert out.shape == (500, 4) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    corr = np.corrcoef(out.T)
    assert np.abs(corr - np.eye(4)).max() < 0.2
    with pytest.raises(ValueError, match="text_dim=13"):
        features.whiten(x, 13)


def test_text_featurizer_selects_classical_vectors(text_dataset):
    model = config_lib.ModelConfig(name="sasrec_text", text_featurizer="tfidf")
    resolved = features.resolve_text_config(config_lib.TrainConfig(model=model), text_dataset)
    assert resolved.model.text_features == str(
        features.classical_item_features(text_dataset, "tfidf").resolve()
    )
    whitened = config_lib.ModelConfig(name="sasrec_text", text_featurizer="tfidf", text_dim=128)
    with pytest.raises(ValueError, match="text_dim=0"):
        features.resolve_text_config(config_lib.TrainConfig(model=whitened), text_dataset)


def test_review_datasets_take_item_text_from_training_reviews_only(tmp_path):
    """Item 'A' gets u1's and u2's training reviews, oldest first; held-out reviews never."""
    rows = [  # (user, item, day, review); each user's last two reviews are valid / test
        ("u1", "A", 1, "warm tone"),
        ("u1", "B", 2, "VALID1"),
        ("u1", "C", 3, "TEST1"),
        ("u2", "B", 1, "bright strings"),
        ("u2", "A", 0, "solid capo"),
        ("u2", "C", 2, "VALID2"),
        ("u2", "A", 3, "TEST2"),
    ]
    lines = [
        {"reviewerID": u, "asin": i, "overall": 5.0, "unixReviewTime": 86_400 * d, "reviewText": r}
        for u, i, d, r in rows
    ]
    raw = tmp_path / "reviews.json"
    raw.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    prepare("amazon-reviews", raw, tmp_path / "prepared")
    dataset = features.PreparedDataset.open(tmp_path / "prepared")
    raw_ids = dataset.item_raw_ids()[1:]
    by_raw = dict(zip(raw_ids, features.item_texts(dataset), strict=True))
    assert by_raw == {"A": "solid capo warm tone", "B": "bright strings", "C": ""}
    assert features.review_texts(dataset, max_chars=5)[raw_ids.index("A")] == "solid"
