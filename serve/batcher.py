"""An asyncio micro-batcher for the plain (non-Ray) app, with ``@serve.batch``'s semantics.

Requests wait until ``max_batch_size`` have arrived or ``wait_s`` has passed since the first;
then one call scores them all. The call runs in a single worker thread, so the event loop keeps
parsing requests while the model computes (XLA and onnxruntime release the GIL).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from serve.metrics import NullMetrics


class AsyncBatcher:
    """Collects single items into batches for ``fn(list) -> list`` (same order, same length).

    Args:
        fn: scores a list of items; runs in a worker thread.
        max_batch_size: most items per call.
        wait_s: longest wait for a batch to fill after its first item.
        metrics: receives batch size and call latency.
    """

    def __init__(
        self,
        fn: Callable[[list[Any]], list[Any]],
        *,
        max_batch_size: int,
        wait_s: float,
        metrics: NullMetrics | None = None,
    ):
        self.fn = fn
        self.max_batch_size = max_batch_size
        self.wait_s = wait_s
        self.metrics = metrics or NullMetrics()
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxrec-model")

    async def submit(self, item: Any) -> Any:
        """Scores one item as part of a batch and returns its result."""
        loop = asyncio.get_running_loop()
        # A new event loop (e.g. a second TestClient) needs its own queue and worker task.
        if self._worker is None or self._worker.done() or self._loop is not loop:
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run())
        future = loop.create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _collect(self) -> list[tuple[Any, asyncio.Future]]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), left))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            items = [item for item, _ in batch]
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._pool, self.fn, items)
            except Exception as err:  # the callers answer 500; the worker keeps going
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            self.metrics.batch(len(items), time.perf_counter() - start)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def close(self) -> None:
        """Stops the worker task and thread."""
        if self._worker is not None:
            self._worker.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
