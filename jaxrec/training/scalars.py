"""TensorBoard scalars for a run: written by process 0 only.

Every process of a multi-process run computes the same (global) metrics, so one writer is
enough; several would race to create ``tb/`` and to write one event file whose name holds
only the second and the hostname.
"""

from __future__ import annotations

import pathlib
from typing import Protocol

import jax
from tensorboardX import SummaryWriter


class ScalarWriter(Protocol):
    """What the trainers call on a writer (``tensorboardX.SummaryWriter`` has both)."""

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        """Records ``value`` under ``tag`` at ``step``."""

    def close(self) -> None:
        """Flushes and closes the event file."""


class _NoScalars:
    """The writer of processes other than 0: accepts scalars and drops them."""

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        del tag, value, step

    def close(self) -> None:
        pass


def scalar_writer(workdir: str | pathlib.Path) -> ScalarWriter:
    """A TensorBoard writer for ``workdir/tb`` on process 0; a no-op writer elsewhere."""
    if jax.process_index() != 0:
        return _NoScalars()
    log_dir = pathlib.Path(workdir) / "tb"
    log_dir.mkdir(parents=True, exist_ok=True)
    return SummaryWriter(str(log_dir))
