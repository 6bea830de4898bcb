"""An export directory: artifact files + ``metadata.json`` with their sha256 checksums.

Layout (every format)::

    DIR/metadata.json   format, model config, max_len, num_items, k_max, files -> sha256, ...
    DIR/items.jsonl     the dataset's catalogue (internal id, raw_id, title, ...)
    DIR/...             the format's own files (params.msgpack, model.onnx, saved_model/, ...)

The directory is built under a temporary name beside ``DIR`` and renamed into place, so a
failed export leaves nothing (or the previous export) behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pathlib
import shutil
import tempfile
from collections.abc import Iterator

METADATA_FILE = "metadata.json"
ITEMS_FILE = "items.jsonl"
METADATA_VERSION = 1


class ExportError(ValueError):
    """An export cannot be written or loaded (the message names the file and the problem)."""


class ExportIntegrityError(ExportError):
    """An export's files do not match the checksums recorded in its ``metadata.json``."""


def sha256_file(path: pathlib.Path) -> str:
    """Hex sha256 of one file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_checksums(directory: pathlib.Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``directory`` but the metadata."""
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.relative_to(directory).as_posix() != METADATA_FILE
    }


def combined_checksum(files: dict[str, str]) -> str:
    """One sha256 over the sorted ``name  hash`` lines: the artifact's identity."""
    lines = "".join(f"{name}  {files[name]}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def finalize_metadata(directory: pathlib.Path, metadata: dict) -> dict:
    """Adds checksums (and the model version derived from them) and writes metadata.json."""
    files = file_checksums(directory)
    checksum = combined_checksum(files)
    metadata = {
        **metadata,
        "files": files,
        "checksum": checksum,
        "model_version": f"{metadata['model_name']}-{metadata['format']}-{checksum[:12]}",
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def read_metadata(directory: str | pathlib.Path, *, verify: bool = True) -> dict:
    """Parses ``DIR/metadata.json`` and (by default) checks every file's sha256.

    Raises:
        ExportError: no export there, or unreadable metadata.
        ExportIntegrityError: a listed file is missing or its checksum differs.
    """
    directory = pathlib.Path(directory)
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ExportError(f"{path}: missing; not a jaxrec export directory")
    try:
        metadata = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ExportError(f"{path}: unreadable metadata: {err}") from err
    for key in ("format", "max_len", "num_items", "k_max", "files", "checksum"):
        if key not in metadata:
            raise ExportError(f"{path}: field {key!r} missing")
    if verify:
        verify_files(directory, metadata)
    return metadata


def verify_files(directory: pathlib.Path, metadata: dict) -> None:
    """Raises ``ExportIntegrityError`` naming the first file whose sha256 is off."""
    for name, expected in sorted(metadata["files"].items()):
        path = directory / name
        if not path.is_file():
            raise ExportIntegrityError(f"{path}: listed in {METADATA_FILE} but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ExportIntegrityError(
                f"{path}: sha256 {actual[:16]}... does not match {expected[:16]}... recorded in "
                f"{METADATA_FILE}; the export was modified or corrupted, re-export it"
            )
    if combined_checksum(metadata["files"]) != metadata["checksum"]:
        raise ExportIntegrityError(f"{directory / METADATA_FILE}: field 'checksum' was altered")


@contextlib.contextmanager
def staging_dir(out: str | pathlib.Path, *, overwrite: bool = False) -> Iterator[pathlib.Path]:
    """Yields an empty temp dir beside ``out``; on success it becomes ``out`` by rename.

    Raises:
        ExportError: ``out`` exists and ``overwrite`` is False.
    """
    out = pathlib.Path(out).absolute()
    if out.exists() and not overwrite:
        raise ExportError(f"{out}: already exists (pass --overwrite to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the export is meant to be shared
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name[-8:]}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
