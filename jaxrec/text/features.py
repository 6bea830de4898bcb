"""Item text of a prepared dataset and its cached MiniLM item-feature file.

``item_texts`` renders one string per item from ``items.jsonl`` (title, genres, text,
brand, categories, director/writers/actors/plot, whichever exist). Where the source has no
item text but has review text per interaction (Amazon review dumps), an item's text is its
reviews in the training split instead (``review_texts``). ``item_features``
encodes them once and caches ``text/item_features-minilm-<digest>.npz`` in the prepared
directory (or ``fallback_dir`` when that is read-only), with

* ``text``: float32[I + 1, 384] unit-norm sentence embeddings (row 0, padding, is zero);
* ``warm``: float32[I + 1], 1 for items with training interactions, else 0.

The sentence embeddings alone are cached as ``text/minilm-<text digest>.npy`` (so datasets
with the same item texts, e.g. a ``--cold-items`` variant, can share them: copy the file);
the .npz digest also covers the warm mask, so a changed split gets a new file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pathlib

import numpy as np

from data_pipeline.dataset import PreparedDataset
from jaxrec import config as config_lib
from jaxrec.atomic_io import save_npy, save_npz, writable_dir

log = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "genres", "text", "brand", "categories", "director", "writers", "actors")
LONG_FIELDS = ("plot",)
CACHE_DIR = "text"
# Review-derived item text is cut here: MiniLM reads the first 256 tokens (~1,000
# characters); the rest still feeds TF-IDF / Word2Vec.
MAX_REVIEW_CHARS = 2000
TEXT_MODELS = ("sasrec_text", "sasrec_text_context", "sasrec_text_ease", "text_knn")


def _render(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if str(v).strip())
    return str(value).strip() if value is not None else ""


def item_text(row: dict) -> str:
    """One item's text: its known fields joined by ". " (plot last, as it is longest)."""
    parts = [_render(row.get(name)) for name in (*TEXT_FIELDS, *LONG_FIELDS)]
    return ". ".join(p.rstrip(". ") for p in parts if p)


def item_texts(dataset: PreparedDataset) -> list[str]:
    """Texts of items 1..I (index i is item i + 1); "" for items without any text.

    From ``items.jsonl`` when any item has a text field there, else from the training
    reviews (``review_texts``) when the dataset has review text, else all "".
    """
    texts = [item_text(row) for row in dataset.item_info()[1:]]
    if any(texts) or not dataset.manifest.get("side_info", {}).get("reviews"):
        return texts
    return review_texts(dataset)


def review_texts(dataset: PreparedDataset, max_chars: int = MAX_REVIEW_CHARS) -> list[str]:
    """Per item 1..I, its reviews in the training split, oldest first, cut at ``max_chars``.

    Only ``items[:n_train]`` of each user count: the reviews of validation and test
    interactions never become item text. Items without a training review get "".
    """
    reviews: list[list[tuple[int, int, str]]] = [[] for _ in range(dataset.num_items + 1)]
    for rec in dataset.records():
        times = rec.timestamps if rec.timestamps is not None else np.zeros(len(rec.items), int)
        for k in range(rec.n_train):
            if rec.reviews[k].strip():
                reviews[rec.items[k]].append((int(times[k]), rec.user, rec.reviews[k].strip()))
    return [" ".join(text for *_, text in sorted(rows))[:max_chars] for rows in reviews[1:]]


def warm_mask(dataset: PreparedDataset) -> np.ndarray:
    """float32[I + 1]: 1 where the item occurs in some user's training part."""
    return (dataset.item_popularity("valid") > 0).astype(np.float32)


def _digest(texts: list[str], warm: np.ndarray) -> str:
    sha = hashlib.sha256(json.dumps(texts).encode())
    sha.update(warm.tobytes())
    return sha.hexdigest()[:16]


def require_text(texts: list[str], data_dir) -> None:
    """Raises ValueError when no item has any text (nothing for a text model to use)."""
    if not any(texts):
        raise ValueError(
            f"{data_dir}/items.jsonl: no item has text ({', '.join(TEXT_FIELDS)}), and the "
            "dataset has no training reviews to use instead"
        )


def cache_dir(data_dir, fallback_dir) -> pathlib.Path:
    """``data_dir/text``, or ``fallback_dir/text`` when the dataset is read-only."""
    directory = pathlib.Path(data_dir) / CACHE_DIR
    if not writable_dir(directory) and fallback_dir is not None:
        directory = pathlib.Path(fallback_dir) / CACHE_DIR
        directory.mkdir(parents=True, exist_ok=True)
    return directory


def item_features(
    data_dir: str | os.PathLike[str],
    *,
    fallback_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    dim: int = 0,
) -> pathlib.Path:
    """Path of the cached item-feature file for ``data_dir`` (encoded on first use).

    ``dim`` > 0 stores the vectors PCA-whitened to ``dim`` dimensions (``whiten``).

    Raises:
        ValueError: when no item has any text (nothing for a text model to use).
    """
    dataset = PreparedDataset.open(data_dir)
    texts = item_texts(dataset)
    require_text(texts, data_dir)
    warm = warm_mask(dataset)
    suffix = f"-pca{dim}" if dim else ""
    name = f"item_features-minilm{suffix}-{_digest(texts, warm)}.npz"
    directory = cache_dir(data_dir, fallback_dir)
    path = directory / name
    if path.is_file():
        return path
    table = _text_table(texts, directory, batch_size)
    if dim:
        table = np.concatenate([table[:1, :dim] * 0.0, whiten(table[1:], dim)])
    save_npz(path, text=table, warm=warm)
    return path


def whiten(vectors: np.ndarray, dim: int) -> np.ndarray:
    """float32[N, dim] unit rows: PCA-whitened text vectors.

    Centred, projected on the top ``dim`` principal axes, scaled to unit variance per axis
    (BERT-whitening, Su et al. 2021), then L2-normalised.
    """
    if not 0 < dim <= vectors.shape[1]:
        raise ValueError(f"model.text_dim={dim}: must be in 1..{vectors.shape[1]}")
    centred = vectors.astype(np.float64) - vectors.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    scale = singular[:dim] / np.sqrt(max(len(vectors) - 1, 1))
    out = centred @ axes[:dim].T / np.maximum(scale, 1e-8)
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _text_table(texts: list[str], directory: pathlib.Path, batch_size: int) -> np.ndarray:
    """float32[I + 1, 384]: cached MiniLM vectors of ``texts`` (row 0 zero)."""
    from jaxrec.text.encode import SentenceEncoder

    cache = directory / f"minilm-{_digest(texts, np.zeros(0, np.float32))}.npy"
    if cache.is_file():
        table = np.load(cache)
        if table.shape[0] == len(texts) + 1:
            return table
    log.info("encoding %d item texts (%d empty) -> %s", len(texts), texts.count(""), cache)
    vectors = SentenceEncoder().encode(texts, batch_size=batch_size)
    table = np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors])
    save_npy(cache, table)
    return table


def resolve_text_config(
    cfg: config_lib.TrainConfig, data_dir, workdir=None
) -> config_lib.TrainConfig:
    """Fills ``model.text_features`` for text models from the dataset's cache (else as is)."""
    wants_text = cfg.model.name in TEXT_MODELS or (
        cfg.model.name == "hybrid" and cfg.model.hybrid_content
    )
    if not wants_text or cfg.model.text_features:
        return cfg
    featurizer = cfg.model.text_featurizer
    if featurizer != "minilm":  # checked here: --set applies overrides one at a time
        if cfg.model.text_finetune:
            raise ValueError(
                "model.text_finetune fine-tunes MiniLM: set model.text_featurizer=minilm"
            )
        if cfg.model.text_dim:
            raise ValueError(
                f"model.text_featurizer={featurizer!r} takes its vectors as they are: "
                f"set model.text_dim=0 (not {cfg.model.text_dim}; MiniLM only)"
            )
        path = classical_item_features(data_dir, featurizer, fallback_dir=workdir)
    elif cfg.model.text_finetune:  # tokens, initial cache and whitening as well
        from jaxrec.text.finetune import finetune_features

        path = finetune_features(
            data_dir,
            num_tokens=cfg.model.text_tokens,
            dim=cfg.model.text_dim,
            encoder_dir=cfg.model.text_encoder,
            fallback_dir=workdir,
        )
    else:
        path = item_features(data_dir, fallback_dir=workdir, dim=cfg.model.text_dim)
    model = dataclasses.replace(cfg.model, text_features=str(path.resolve()))
    return dataclasses.replace(cfg, model=model)


def classical_item_features(
    data_dir, featurizer: str, *, seed: int = 0, fallback_dir=None
) -> pathlib.Path:
    """Like ``item_features`` with TF-IDF/LSA or Word2Vec vectors (jaxrec/text/classical.py).

    ``model.text_featurizer`` selects them in a config; ``--set model.text_features=PATH``
    with the returned path does the same.

    Raises:
        ValueError: an unknown featurizer, or no item has any text.
    """
    from jaxrec.text.classical import FEATURIZERS

    if featurizer not in FEATURIZERS:
        raise ValueError(f"featurizer={featurizer!r}: expected one of {sorted(FEATURIZERS)}")
    dataset = PreparedDataset.open(data_dir)
    texts, warm = item_texts(dataset), warm_mask(dataset)
    require_text(texts, data_dir)
    directory = cache_dir(data_dir, fallback_dir)
    path = directory / f"item_features-{featurizer}-{_digest(texts, warm)}.npz"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    vectors = FEATURIZERS[featurizer](texts, seed=seed)
    table = np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors])
    save_npz(path, text=table, warm=warm)
    return path
