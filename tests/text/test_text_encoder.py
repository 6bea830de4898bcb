"""The JAX MiniLM against reference vectors from an independent float64 NumPy forward pass."""

import json
import pathlib

import numpy as np
import pytest

from jaxrec.text import encode as text_encode

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "text" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def encoder():
    try:
        return text_encode.SentenceEncoder()
    except FileNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def reference():
    data = np.load(FIXTURE)
    return list(data["sentences"]), data["embeddings"], json.loads(str(data["input_ids"]))


def test_tokenizer_matches_reference_ids(encoder, reference):
    sentences, _, ids = reference
    assert encoder.tokenize(sentences) == ids


def test_embeddings_match_reference(encoder, reference):
    sentences, expected, _ = reference
    # batch_size 4 mixes lengths in one padded batch, so the padding mask is exercised too.
    got = encoder.encode(sentences, batch_size=4, progress=False)
    assert got.shape == (len(sentences), 384) and got.dtype == np.float32
    cosine = (got * expected).sum(-1)
    assert cosine.min() >= 0.9999, cosine
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_order_is_kept_and_batching_invariant(encoder, reference):
    sentences, _, _ = reference
    one = encoder.encode(sentences, batch_size=2, progress=False)
    shuffled = encoder.encode(sentences[::-1], batch_size=3, progress=False)[::-1]
    np.testing.assert_allclose(one, shuffled, atol=2e-5)


def test_encode_file_writes_rows_in_order(encoder, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(text_encode, "SentenceEncoder", lambda: encoder)
    sentences, expected, _ = reference
    source = tmp_path / "in.txt"
    source.write_text("\n".join(sentences[:3]) + "\n", encoding="utf-8")
    info = text_encode.encode_file(source, tmp_path / "out.npy")
    got = np.load(tmp_path / "out.npy")
    assert info["rows"] == 3 and got.shape == (3, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected[:3], atol=2e-5)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        text_encode.read_lines(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\nbad \xff\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: not valid UTF-8"):
        text_encode.read_lines(bad)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file"):
        text_encode.read_lines(empty)
