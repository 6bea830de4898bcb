"""Trains one resolved config: picks the trainer the model needs (gradient, closed form, MAML)."""

from __future__ import annotations

import pathlib

from jaxrec.config import TrainConfig


def resolve_feature_files(
    cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path | None
) -> TrainConfig:
    """``cfg`` with the frozen-feature files its model reads filled in (built once, cached).

    Item text, CF factors and the EASE-residual precision: each resolver decides whether the
    model needs its file and leaves the config as it is otherwise. ``workdir`` holds the
    files when the dataset folder is read-only.
    """
    from jaxrec.baselines.cf_factors import resolve_cf_config
    from jaxrec.baselines.residual_ease import resolve_residual_config
    from jaxrec.text.features import resolve_text_config

    cfg = resolve_text_config(cfg, data_dir, workdir)
    cfg = resolve_cf_config(cfg, data_dir, workdir)
    return resolve_residual_config(cfg, data_dir, workdir)


def fit(cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path) -> dict:
    """Resolves the frozen-feature files ``cfg`` needs, then trains it into ``workdir``.

    Returns:
        The trainer's summary (also written to ``workdir/train_summary.json``).
    """
    from jaxrec.training import closed_form, loop

    cfg = resolve_feature_files(cfg, data_dir, workdir)
    trainer = closed_form.fit if cfg.model.name in closed_form.CLOSED_FORM_MODELS else loop.run
    if cfg.maml is not None:
        from jaxrec.meta import train as meta_train

        trainer = meta_train.run
    return trainer(cfg, data_dir, workdir)
