"""Loads an export into a ``RecommendService`` (backend + id map), warmed up."""

from __future__ import annotations

import logging
import time

from serve.service import ItemIndex, RecommendService
from serve.settings import ServeSettings

log = logging.getLogger(__name__)


def item_index(export_dir: str) -> ItemIndex:
    """The export's original <-> internal id map and titles."""
    from jaxrec.export.catalog import Catalog

    cat = Catalog.load(export_dir)
    internal = range(1, cat.num_items + 1)
    return ItemIndex(
        to_internal={cat.to_original(i): i for i in internal},
        to_original=["<pad>", *(cat.to_original(i) for i in internal)],
        titles=[None, *(cat.title(i) for i in internal)],
    )


def load_service(settings: ServeSettings) -> RecommendService:
    """Loads ``settings.model_dir`` with ``settings.backend`` and compiles the common shapes."""
    from jaxrec.export.runtime import load_backend

    if not settings.model_dir:
        raise ValueError("model_dir: no export directory given")
    start = time.perf_counter()
    backend = load_backend(
        settings.model_dir,
        settings.backend,
        num_threads=settings.num_threads,
        cold_start_max_items=settings.cold_start_max_items,
    )
    name = getattr(backend, "name", None) or settings.backend or "unknown"
    service = RecommendService(
        backend,
        item_index(settings.model_dir),
        max_history_items=settings.max_history_items,
        backend_name=name,
    )
    service.warm_up(settings.max_batch_size)
    log.info(
        "loaded %s (%s, %d items, max_len %d) in %.1f s",
        settings.model_dir,
        name,
        service.items.num_items,
        service.max_len,
        time.perf_counter() - start,
    )
    return service
