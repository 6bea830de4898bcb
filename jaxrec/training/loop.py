"""The training loop: sharded init, one jitted step, validation, early stopping, resume."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import pathlib
import time
from collections.abc import Callable

import jax
from tqdm.auto import tqdm

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import EvalData, eval_data, with_context
from jaxrec import distributed, sharding
from jaxrec.atomic_io import write_json
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import TrainConfig
from jaxrec.context_features import eval_tables
from jaxrec.evaluation import EvalOptions, evaluate
from jaxrec.training import setup
from jaxrec.training.scalars import ScalarWriter, scalar_writer
from jaxrec.training.state import abstract_like
from jaxrec.training.step import score_step

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
    parts, state, step_fn = setup.build_trainer(cfg, dataset, mesh, total_steps)
    data_iter = setup.train_iterator(cfg, dataset)
    ckpt = Checkpointer(workdir)
    progress = Progress()
    if ckpt.latest_step() is not None:
        state, meta = ckpt.restore_latest(abstract_like(state), data_iter)
        progress = Progress(**meta)
        log.info("resumed from step %d", int(state.step))
    batch_sh = sharding.batch_sharding(mesh)
    prior = distributed.global_array(
        setup.log_prior(dataset, cfg.loss.proposal), sharding.replicated(mesh)
    )
    writer = scalar_writer(workdir)
    validate = Validator(
        cfg=cfg,
        score_fn=jax.jit(functools.partial(score_step, graphdef=parts.graphdef)),
        data=with_context(
            eval_data(dataset, "valid", cfg.model.max_len), eval_tables(cfg, dataset)
        ),
        num_items=dataset.num_items,
        ckpt=ckpt,
        writer=writer,
        steps_per_epoch=steps_per_epoch,
    )
    budget_s = None if cfg.max_minutes is None else cfg.max_minutes * 60.0

    # --- Train ---
    step = int(state.step)
    reason = _stop_reason(cfg, progress, step, total_steps, budget_s)
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    tick = time.perf_counter()
    while not reason:
        batch = distributed.global_batch(next(data_iter), batch_sh)
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
            validate(state, step, progress)
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
    write_json(workdir / "train_summary.json", summary)
    return summary


@dataclasses.dataclass
class Validator:
    """Validation metrics, TensorBoard, early-stopping bookkeeping and the best checkpoint."""

    cfg: TrainConfig
    score_fn: Callable
    data: EvalData
    num_items: int
    ckpt: Checkpointer
    writer: ScalarWriter
    steps_per_epoch: int

    def __call__(self, state, step: int, progress: Progress) -> None:
        """Evaluates ``state.params`` on the validation split and updates ``progress``."""
        t0 = time.perf_counter()
        params = state.params
        options = EvalOptions(
            exclude_seen=self.cfg.eval.exclude_seen, batch_size=self.cfg.eval.batch_size
        )
        result, _ = evaluate(
            lambda h, u, *c: self.score_fn(params, h, u, *c),
            self.data,
            self.num_items,
            options,
            progress=False,
        )
        name = self.cfg.eval.early_stopping_metric
        for key in ("ndcg@10", "hr@10", "ndcg@20", "hr@20", "mrr"):
            self.writer.add_scalar(f"valid/{key.replace('@', '_at_')}", result[key], step)
        epoch = step / self.steps_per_epoch
        progress.history.append(
            {
                "step": step,
                "epoch": epoch,
                "elapsed_s": progress.elapsed_s,
                **{k: result[k] for k in ("ndcg@10", "hr@10", "mrr")},
            }
        )
        if result[name] > progress.best_metric:
            progress.best_metric, progress.best_step, progress.bad_evals = result[name], step, 0
            self.ckpt.save_best(step, params, {"step": step, "valid": result})
        else:
            progress.bad_evals += 1
        log.info(
            "step %d valid %s=%.4f (best %.4f @ %d) in %.1fs",
            step,
            name,
            result[name],
            progress.best_metric,
            progress.best_step,
            time.perf_counter() - t0,
        )
        tqdm.write(
            f"step {step} epoch {epoch:.1f}: valid ndcg@10={result['ndcg@10']:.4f} "
            f"hr@10={result['hr@10']:.4f} (best {progress.best_metric:.4f} @ {progress.best_step})"
        )
