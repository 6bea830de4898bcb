"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np


def atomic_write(path: str | pathlib.Path, write: Callable[[IO[str]], Any]) -> None:
    """Calls ``write(handle)`` on a temp file next to ``path``, then renames it into place.

    A failure leaves ``path`` as it was (absent or the previous version), never partial.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | pathlib.Path, data: Any) -> None:
    """Atomically writes ``data`` as indented JSON."""
    atomic_write(path, lambda handle: handle.write(json.dumps(data, indent=2) + "\n"))


def save_npz(path: str | pathlib.Path, **arrays: np.ndarray) -> None:
    """Atomically writes ``arrays`` as an uncompressed .npz (parent folders created)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def writable_dir(directory: str | pathlib.Path) -> bool:
    """Whether ``directory`` exists (created if needed) and can be written."""
    try:
        pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK)
