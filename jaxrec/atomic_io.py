"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np

# mkstemp creates 0600 files; outputs are ordinary files others may read (rw-r--r--).
FILE_MODE = 0o644


def atomic_write(
    path: str | pathlib.Path, write: Callable[[IO], Any], *, binary: bool = False
) -> None:
    """Calls ``write(handle)`` on a temp file next to ``path``, then renames it into place.

    A failure leaves ``path`` as it was (absent or the previous version), never partial.
    ``binary`` opens the temp file in ``"wb"`` mode (for NumPy writers).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            write(handle)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | pathlib.Path, data: Any) -> None:
    """Atomically writes ``data`` as indented JSON."""
    atomic_write(path, lambda handle: handle.write(json.dumps(data, indent=2) + "\n"))


def save_npz(path: str | pathlib.Path, **arrays: np.ndarray) -> None:
    """Atomically writes ``arrays`` as an uncompressed .npz (parent folders created)."""
    atomic_write(path, lambda handle: np.savez(handle, **arrays), binary=True)


def save_npy(path: str | pathlib.Path, array: np.ndarray) -> None:
    """Atomically writes ``array`` as a .npy file (parent folders created)."""
    atomic_write(path, lambda handle: np.save(handle, array), binary=True)


def writable_dir(directory: str | pathlib.Path) -> bool:
    """Whether ``directory`` exists (created if needed) and can be written."""
    try:
        pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK)
