"""One tiny trained context model (sasrec_context, every context group on) per test session.

Shared by tests/export and tests/serve: ``context_run`` trains once per session, however many
conftests ask for it (the run is memoised on the first ``tmp_path_factory``).
"""

import functools
import pathlib

from data_pipeline.prepare import prepare
from tests.context.conftest import NUM_ITEMS, TINY_CONFIG, write_ml1m

CONTEXT_SETS = ("model.name=sasrec_context", "model.context.sentiment=true", "max_epochs=1")
__all__ = ["NUM_ITEMS", "context_export", "context_run"]


@functools.cache
def _trained(root: pathlib.Path) -> pathlib.Path:
    from jaxrec.cli import main

    prepare("movielens", write_ml1m(root / "raw"), root / "prepared")
    workdir = root / "work"
    argv = ["train", "--config", str(TINY_CONFIG), "--data", str(root / "prepared")]
    sets = [x for s in CONTEXT_SETS for x in ("--set", s)]
    assert main([*argv, "--workdir", str(workdir), *sets]) == 0
    return workdir


_ROOT: list[pathlib.Path] = []


def context_run(tmp_path_factory) -> pathlib.Path:
    """Tiny ML-1M (time + user attributes) -> sasrec_context trained for one epoch.

    Every group (time, user, device, sentiment) is on; the data has no devices or reviews,
    so those columns were always unknown in training (the featurizer does not require them).
    """
    if not _ROOT:
        _ROOT.append(tmp_path_factory.mktemp("context_run"))
    return _trained(_ROOT[0])


@functools.cache
def _exported(workdir: pathlib.Path, out: pathlib.Path, fmt: str, k_max: int) -> pathlib.Path:
    from jaxrec.cli import main

    argv = ["export", "--workdir", str(workdir), "--format", fmt, "--out", str(out)]
    assert main([*argv, "--k-max", str(k_max)]) == 0
    return out


def context_export(tmp_path_factory, fmt: str = "jax", k_max: int = 20) -> pathlib.Path:
    """``jaxrec export`` of ``context_run`` (through the CLI), once per session and format."""
    workdir = context_run(tmp_path_factory)
    return _exported(workdir, workdir.parent / f"export_{fmt}_{k_max}", fmt, k_max)
