"""Content-based item-kNN: items whose text vectors point the same way vote for each other.

The content counterpart of ``jaxrec.baselines.item_knn``. Item ``j``'s similarity to item
``i`` is ``max(cos(t_j, t_i), 0) ** power`` for their item-text vectors ``t`` (MiniLM,
TF-IDF/LSA or Word2Vec; ``jaxrec.text.features``); the power sharpens the similarity towards
near-duplicates (same product line, brand, category). Each item keeps its ``K`` most similar
items, so memory is O(I K), and a history votes with recency weights exactly as in
item-kNN (``item_knn_scores`` scores both). No interaction enters the tables: an item never
seen in training (a cold item with text) is as reachable as any other.

Shapes use the letters of ``jaxrec.types``: ``I`` catalogue size, ``E`` text dimension, ``K``
neighbours per item, with id 0 reserved for padding.
"""

from __future__ import annotations

import numpy as np

# Rows of the I x I similarity held at once: at most this many float32 values (256 MiB).
BLOCK_VALUES = 1 << 26


def text_neighbour_tables(
    vectors: np.ndarray, num_neighbors: int, power: float, *, block_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's ``K`` most text-similar items and their sharpened cosine similarities.

    Args:
        vectors: float[I + 1, E] item text vectors; row 0 (padding) and items without text
            may be all zero and then have no neighbours and are nobody's neighbour.
        num_neighbors: K >= 1.
        power: exponent > 0 applied to the cosine similarity clipped at 0.
        block_rows: rows of the I x I similarity computed at a time (memory, not results;
            None: as many as fit in ``BLOCK_VALUES``). The work is O(I^2 E) either way.

    Returns:
        (ids int32[I + 1, K], sims float32[I + 1, K]): row j lists j's neighbours, most
        similar first, never j itself; unused slots (fewer than K items with a positive
        similarity, and row 0) hold id 0 with similarity 0.

    Raises:
        ValueError: ``vectors`` is not 2-D or holds non-finite values, or K / power is out of
            range.
    """
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or not np.isfinite(vectors).all():
        raise ValueError(f"vectors: expected a finite float[I + 1, E] array, got {vectors.shape}")
    if num_neighbors < 1 or power <= 0:
        raise ValueError(f"num_neighbors={num_neighbors} (>= 1), power={power} (> 0)")
    size = vectors.shape[0]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.where(norms > 0, vectors / np.where(norms > 0, norms, 1.0), 0.0)
    unit[0] = 0.0
    keep = min(num_neighbors, size - 1)
    ids = np.zeros((size, num_neighbors), np.int32)
    sims = np.zeros((size, num_neighbors), np.float32)
    if keep < 1:  # padding only: nothing to neighbour
        return ids, sims
    block_rows = block_rows or max(1, BLOCK_VALUES // size)
    for start in range(0, size, block_rows):
        rows = np.arange(start, min(start + block_rows, size))
        similarity = np.maximum(unit[rows] @ unit.T, 0.0)  # [R, I + 1]
        similarity[np.arange(len(rows)), rows] = 0.0  # an item is not its own neighbour
        top = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep]
        top_sims = np.take_along_axis(similarity, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        top, top_sims = np.take_along_axis(top, order, 1), np.take_along_axis(top_sims, order, 1)
        positive = top_sims > 0
        ids[rows, :keep] = np.where(positive, top, 0)
        sims[rows, :keep] = np.where(positive, top_sims**power, 0.0)
    return ids, sims
