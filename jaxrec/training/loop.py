"""The training loop: sharded init, one jitted step, validation, early stopping, resume."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import pathlib
import time

import jax
from tensorboardX import SummaryWriter
from tqdm.auto import tqdm

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import eval_data, train_dataset
from jaxrec import sharding
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import TrainConfig
from jaxrec.evaluation import EvalOptions, evaluate
from jaxrec.training import setup
from jaxrec.training.optim import build_optimizer
from jaxrec.training.state import abstract_like
from jaxrec.training.step import score_step, train_step

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Progress:
    """Early-stopping bookkeeping, checkpointed as JSON with the state."""

    best_metric: float = -math.inf
    best_step: int = 0
    bad_evals: int = 0
    elapsed_s: float = 0.0
    history: list = dataclasses.field(default_factory=list)


def _stop_reason(cfg: TrainConfig, progress: Progress, step: int, total: int, budget_s) -> str:
    if step >= total:
        return "max_epochs"
    if progress.bad_evals >= cfg.patience:
        return "early_stopping"
    if budget_s is not None and progress.elapsed_s >= budget_s:
        return "time_budget"
    return ""


def run(cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path) -> dict:
    """Trains ``cfg`` on the prepared dataset in ``data_dir``; resumes from ``workdir``.

    Returns:
        Summary with the stop reason, best validation metric/step and timing.
    """
    # --- Set-up ---
    workdir = pathlib.Path(workdir)
    dataset = PreparedDataset.open(data_dir)
    setup.write_run_files(workdir, cfg, data_dir)
    mesh = sharding.make_mesh(cfg.mesh)
    steps_per_epoch = max(1, math.ceil(dataset.num_users / cfg.data.batch_size))
    total_steps = cfg.max_epochs * steps_per_epoch
    tx = build_optimizer(cfg.optim, total_steps)
    parts = setup.init_params(cfg, dataset.num_items, mesh)
    state = setup.init_state(parts, tx, cfg.seed)
    data_iter = iter(
        train_dataset(
            dataset,
            batch_size=cfg.data.batch_size,
            max_len=cfg.model.max_len,
            seed=cfg.seed,
            prefetch_threads=cfg.data.prefetch_threads,
            bucket_lengths=cfg.data.length_buckets,
        )
    )
    ckpt = Checkpointer(workdir)
    progress = Progress()
    if ckpt.latest_step() is not None:
        state, meta = ckpt.restore_latest(abstract_like(state), data_iter)
        progress = Progress(**meta)
        log.info("resumed from step %d", int(state.step))
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    batch_sh = sharding.batch_sharding(mesh)
    step_fn = jax.jit(
        functools.partial(train_step, graphdef=parts.graphdef, tx=tx, loss_cfg=cfg.loss),
        in_shardings=(state_sh, batch_sh, sharding.replicated(mesh)),
        out_shardings=(state_sh, sharding.replicated(mesh)),
        donate_argnums=0,
    )
    score_fn = jax.jit(functools.partial(score_step, graphdef=parts.graphdef))
    prior = jax.device_put(setup.log_prior(dataset, cfg.loss.proposal), sharding.replicated(mesh))
    valid = eval_data(dataset, "valid", cfg.model.max_len)
    eval_opts = EvalOptions(exclude_seen=cfg.eval.exclude_seen, batch_size=cfg.eval.batch_size)
    writer = SummaryWriter(str(workdir / "tb"))
    budget_s = None if cfg.max_minutes is None else cfg.max_minutes * 60.0

    # --- Train ---
    step = int(state.step)
    reason = _stop_reason(cfg, progress, step, total_steps, budget_s)
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    tick = time.perf_counter()
    while not reason:
        batch = jax.device_put(next(data_iter), batch_sh)
        state, step_metrics = step_fn(state, batch, prior)
        step += 1
        bar.update(1)
        if step % cfg.log_every_steps == 0:
            values = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
            for name, value in values.items():
                writer.add_scalar(f"train/{name}", value, step)
            bar.set_postfix(loss=f"{values['loss']:.4f}", epoch=step // steps_per_epoch)
        now = time.perf_counter()
        progress.elapsed_s += now - tick
        tick = now
        epoch_end = step % steps_per_epoch == 0
        reason = _stop_reason(cfg, progress, step, total_steps, budget_s)
        if (epoch_end and (step // steps_per_epoch) % cfg.eval_every_epochs == 0) or reason:
            _validate(
                cfg,
                state,
                step,
                score_fn,
                valid,
                dataset.num_items,
                eval_opts,
                progress,
                ckpt,
                writer,
                steps_per_epoch,
            )
            ckpt.save_latest(step, state, data_iter, dataclasses.asdict(progress))
            reason = _stop_reason(cfg, progress, step, total_steps, budget_s)

    # --- Finish ---
    bar.close()
    ckpt.wait()
    ckpt.close()
    writer.close()
    summary = {
        "stop_reason": reason,
        "steps": step,
        "epochs": step / steps_per_epoch,
        "best_step": progress.best_step,
        f"best_valid_{cfg.eval.early_stopping_metric}": progress.best_metric,
        "train_seconds": progress.elapsed_s,
        "seed": cfg.seed,
    }
    (workdir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _validate(
    cfg, state, step, score_fn, valid, num_items, eval_opts, progress, ckpt, writer, steps_per_epoch
) -> None:
    """Validation metrics, TensorBoard, early-stopping bookkeeping, best checkpoint."""
    t0 = time.perf_counter()
    params = state.params
    result, _ = evaluate(lambda h: score_fn(params, h), valid, num_items, eval_opts, progress=False)
    metric = result[cfg.eval.early_stopping_metric]
    for name in ("ndcg@10", "hr@10", "ndcg@20", "hr@20", "mrr"):
        writer.add_scalar(f"valid/{name}", result[name], step)
    record = {
        "step": step,
        "epoch": step / steps_per_epoch,
        "elapsed_s": progress.elapsed_s,
        **{k: result[k] for k in ("ndcg@10", "hr@10", "mrr")},
    }
    progress.history.append(record)
    if metric > progress.best_metric:
        progress.best_metric, progress.best_step, progress.bad_evals = metric, step, 0
        ckpt.save_best(step, params, {"step": step, "valid": result})
    else:
        progress.bad_evals += 1
    log.info(
        "step %d valid %s=%.4f (best %.4f @ %d) in %.1fs",
        step,
        cfg.eval.early_stopping_metric,
        metric,
        progress.best_metric,
        progress.best_step,
        time.perf_counter() - t0,
    )
    tqdm.write(
        f"step {step} epoch {step / steps_per_epoch:.1f}: valid ndcg@10={result['ndcg@10']:.4f} "
        f"hr@10={result['hr@10']:.4f} (best {progress.best_metric:.4f} @ {progress.best_step})"
    )
