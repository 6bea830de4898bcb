"""Download of the official MovieLens archives from GroupLens, verified by checksum.

The archive is streamed (with a tqdm progress bar) into a temporary file next to the output,
hashed while streaming, and checked against the MD5 pinned below before anything is extracted.
Extraction goes to a temporary folder that is moved into place with `os.replace`, so
`out_dir/<folder>` either holds the complete archive contents or does not exist; on any error
(including a checksum mismatch) every temporary file is removed.

The pinned MD5 values are those GroupLens publishes as `<zip>.md5`. They were not re-computed
here (no network access); they were cross-checked against several independent public
repositories that pin the same values (among them a Keras example and PaddlePaddle's dataset
cache script). No SHA-256 is pinned: no value could be confirmed from more than one source.
"""

import dataclasses
import hashlib
import logging
import os
import pathlib
import shutil
import tempfile
import urllib.request
import zipfile

from tqdm import tqdm

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Archive:
    """One downloadable dataset.

    Attributes:
        url: official download location.
        md5: pinned MD5 of the archive (hex).
        folder: the top-level folder inside the zip, and the name it gets under `out_dir`.
    """

    url: str
    md5: str
    folder: str


ARCHIVES: dict[str, Archive] = {
    "movielens-1m": Archive(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        md5="c4d9eecfca2ab87c1945afe126590906",
        folder="ml-1m",
    ),
    "movielens-100k": Archive(
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        md5="0e33842e24a9c977be4e0107933c0723",
        folder="ml-100k",
    ),
}


class ChecksumError(ValueError):
    """The downloaded archive does not match its expected checksum."""


def _fetch(url: str, destination: pathlib.Path) -> dict[str, str]:
    """Streams `url` into `destination`; returns its hex digests (`md5`, `sha256`)."""
    digests = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
        total = response.headers.get("Content-Length")
        with tqdm(
            total=int(total) if total else None,
            unit="B",
            unit_scale=True,
            desc=url.rsplit("/", 1)[-1],
        ) as progress:
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
                for digest in digests.values():
                    digest.update(block)
                progress.update(len(block))
    return {name: digest.hexdigest() for name, digest in digests.items()}


def _verify(url: str, got: dict[str, str], expected: dict[str, str]) -> None:
    for name, want in expected.items():
        if got[name] != want.lower():
            raise ChecksumError(
                f"{url}: {name} is {got[name]}, expected {want}; the download was discarded "
                "(corrupted transfer or a changed upstream file)"
            )


def _extract(archive_path: pathlib.Path, folder: str, destination: pathlib.Path) -> None:
    """Extracts `folder/` from the zip into a temporary dir, then renames it to `destination`."""
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{folder}.extract-", dir=destination.parent))
    try:
        with zipfile.ZipFile(archive_path) as zf:
            for member in zf.namelist():
                parts = pathlib.PurePosixPath(member).parts
                if member.startswith("/") or ".." in parts or not parts or parts[0] != folder:
                    raise ValueError(
                        f"{archive_path}: unexpected member {member!r} (need {folder}/...)"
                    )
            zf.extractall(staging)
        if not (staging / folder).is_dir():
            raise ValueError(f"{archive_path}: no {folder}/ folder in the archive")
        os.replace(staging / folder, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download(
    name: str,
    out_dir: str | os.PathLike[str],
    *,
    url: str | None = None,
    expected_md5: str | None = None,
    expected_sha256: str | None = None,
) -> pathlib.Path:
    """Downloads, verifies and extracts a dataset archive.

    Args:
        name: one of `ARCHIVES` (`"movielens-1m"`, `"movielens-100k"`).
        out_dir: parent folder; the data land in `out_dir/<folder>` (e.g. `out_dir/ml-1m`).
        url: alternative location of the same archive (a mirror, or `file://` in tests).
        expected_md5: checksum to require instead of the pinned one.
        expected_sha256: checksum to require (in addition to `expected_md5` when both are given).

    Returns:
        The extracted folder. If it already exists, nothing is downloaded.

    Raises:
        ValueError: unknown name, or an archive without the expected folder.
        ChecksumError: the archive does not match the expected checksum(s).
        OSError: network or file-system errors (urllib.error.URLError is an OSError).
    """
    if name not in ARCHIVES:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {sorted(ARCHIVES)}")
    archive = ARCHIVES[name]
    out_dir = pathlib.Path(out_dir)
    target = out_dir / archive.folder
    if target.exists():
        logger.info("%s already exists; not downloading %s again", target, name)
        return target
    given = {"md5": expected_md5, "sha256": expected_sha256}
    expected = {k: v for k, v in given.items() if v} or {"md5": archive.md5}
    url = url or archive.url
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(prefix=f".{archive.folder}.", suffix=".zip.part", dir=out_dir)
    os.close(fd)
    part = pathlib.Path(part_name)
    try:
        logger.info("downloading %s from %s", name, url)
        _verify(url, _fetch(url, part), expected)
        _extract(part, archive.folder, target)
    finally:
        part.unlink(missing_ok=True)
    logger.info("%s verified (%s) and extracted to %s", name, ", ".join(expected), target)
    return target
