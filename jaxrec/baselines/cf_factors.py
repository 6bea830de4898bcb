"""Low-rank item-item CF factors: the collaborative score term of the hybrid model.

Both item-item models below score a history by a sum over its items, ``s_j = Σ_{i∈h} W[i, j]``.
A rank-R factorisation ``W ≈ Q Kᵀ`` turns that into a dot product, ``s = (Σ_{i∈h} Q_i) · K_j``,
which a sequence model can carry as extra coordinates of its user state and item table:

* ``ease``: W = EASE's B (Steck, WWW 2019), factorised by a randomised truncated SVD,
  ``B ≈ (U√S)(V√S)ᵀ``; needs the dense I x I inverse (up to ``ease.MAX_ITEMS``).
* ``svd``: PureSVD (Cremonesi et al., RecSys 2010), ``W = V Vᵀ`` with V the top-R right
  singular vectors of the binary interaction matrix; sparse, any catalogue size.
* ``auto``: ``ease`` when the catalogue fits, else ``svd``.

Shapes: ``I`` = items + 1 (row 0 = padding, all zero), ``R`` = rank.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pathlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse.linalg

from jaxrec.atomic_io import save_npz, writable_dir
from jaxrec.baselines.ease import MAX_ITEMS, ease_from_gram, gram_matrix, interaction_matrix

log = logging.getLogger(__name__)

METHODS = ("auto", "ease", "svd")
CACHE_DIR = "cf_factors"


def randomized_svd(
    matrix: np.ndarray, rank: int, *, oversample: int = 16, power_iters: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U float[N, R], S float[R], Vᵀ float[R, M]): top-``rank`` SVD of a dense matrix.

    Halko, Martinsson & Tropp (2011), with QR-normalised power iterations; deterministic
    for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    width = min(rank + oversample, *matrix.shape)
    basis, _ = np.linalg.qr(matrix @ rng.standard_normal((matrix.shape[1], width)))
    for _ in range(power_iters):
        basis, _ = np.linalg.qr(matrix.T @ basis)
        basis, _ = np.linalg.qr(matrix @ basis)
    u_small, s, vt = np.linalg.svd(basis.T @ matrix, full_matrices=False)
    return (basis @ u_small)[:, :rank], s[:rank], vt[:rank]


def ease_factors(
    train_items: Sequence[np.ndarray], num_items: int, *, l2: float, rank: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(query, key) float32[I, R] with ``query @ key.T ≈ B``, EASE's item-item weights."""
    if num_items > MAX_ITEMS:
        raise ValueError(
            f"cf method 'ease' needs a dense {num_items} x {num_items} inverse; catalogues "
            f"above {MAX_ITEMS} items use 'svd' (or 'auto')"
        )
    weights = ease_from_gram(gram_matrix(train_items, num_items), l2).astype(np.float64)
    u, s, vt = randomized_svd(weights[1:, 1:], min(rank, num_items), seed=seed)
    root = np.sqrt(s)[None, :]
    return _with_padding_row(u * root), _with_padding_row(vt.T * root)


def svd_factors(
    train_items: Sequence[np.ndarray], num_items: int, *, rank: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(query, key) float32[I, R], both V: PureSVD's item-item weights ``V Vᵀ``."""
    matrix = interaction_matrix(train_items, num_items)[:, 1:].astype(np.float64)
    rank = min(rank, min(matrix.shape) - 1)
    start = np.random.default_rng(seed).standard_normal(min(matrix.shape))
    _, _, vt = scipy.sparse.linalg.svds(matrix, k=rank, v0=start)
    factors = _with_padding_row(vt.T)
    return factors, factors


def _with_padding_row(factors: np.ndarray) -> np.ndarray:
    """float32[I, R]: ``factors`` (one row per real item) below a zero row for padding."""
    return np.concatenate([np.zeros((1, factors.shape[1])), factors]).astype(np.float32)


def fit_factors(
    train_items: Sequence[np.ndarray],
    num_items: int,
    *,
    method: str,
    rank: int,
    l2: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(query, key, method used) for ``method`` in ``METHODS``."""
    if method not in METHODS:
        raise ValueError(f"model.cf_method={method!r}: expected one of {METHODS}")
    if rank < 1:
        raise ValueError(f"model.cf_rank={rank}: expected >= 1")
    if method == "auto":
        method = "ease" if num_items <= MAX_ITEMS else "svd"
    if method == "ease":
        query, key = ease_factors(train_items, num_items, l2=l2, rank=rank, seed=seed)
    else:
        query, key = svd_factors(train_items, num_items, rank=rank, seed=seed)
    return query, key, method


def load_factors(path: str, num_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(query, key) float32[I, R] from a factors .npz; checks the shapes."""
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"model.cf_factors={path}: no such file")
    with np.load(path) as data:
        query, key = data["query"].astype(np.float32), data["key"].astype(np.float32)
    if query.ndim != 2 or query.shape != key.shape or query.shape[0] != num_items + 1:
        raise ValueError(
            f"{path}: query {query.shape} / key {key.shape} do not fit {num_items} items "
            f"(expected two ({num_items + 1}, R) arrays)"
        )
    return query, key


def cached_factors(
    data_dir: str | pathlib.Path,
    *,
    method: str,
    rank: int,
    l2: float,
    seed: int = 0,
    fallback_dir: str | pathlib.Path | None = None,
) -> pathlib.Path:
    """Fits the factors on the training split of a prepared dataset, once; returns the .npz.

    The file sits in ``DATA_DIR/cf_factors/`` (``fallback_dir/cf_factors/`` when the dataset
    folder is read-only), named by a digest of the dataset manifest and the settings, so a
    changed dataset or setting never reuses stale factors. Only each user's training items
    are fitted: the validation and test items never reach the fit.
    """
    from data_pipeline.dataset import PreparedDataset

    dataset = PreparedDataset.open(data_dir)
    settings = {"method": method, "rank": rank, "l2": l2, "seed": seed}
    digest = hashlib.sha256(
        json.dumps([dataset.manifest, settings], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    directory = pathlib.Path(data_dir) / CACHE_DIR
    if not writable_dir(directory) and fallback_dir is not None:
        directory = pathlib.Path(fallback_dir) / CACHE_DIR
    path = directory / f"cf-{method}-r{rank}-{digest}.npz"
    if path.is_file():
        return path
    train_items = [rec.items[: rec.n_train] for rec in dataset.records()]
    log.info("fitting %s CF factors (rank %d) on %d users' items", method, rank, len(train_items))
    query, key, used = fit_factors(
        train_items, dataset.num_items, method=method, rank=rank, l2=l2, seed=seed
    )
    save_npz(path, query=query, key=key, method=np.asarray(used))
    return path


def resolve_cf_config(cfg, data_dir, workdir=None):
    """``cfg`` with ``model.cf_factors`` filled from the dataset's cache (else as is).

    Only hybrid models with ``cf_rank`` > 0 and no factors file yet are resolved.
    """
    model = cfg.model
    if model.name != "hybrid" or model.cf_rank <= 0 or model.cf_factors:
        return cfg
    path = cached_factors(
        data_dir,
        method=model.cf_method,
        rank=model.cf_rank,
        l2=model.cf_l2,
        seed=cfg.seed,
        fallback_dir=workdir,
    )
    model = dataclasses.replace(model, cf_factors=str(path.resolve()))
    return dataclasses.replace(cfg, model=model)
