"""Meta-training (``jaxrec train`` with a ``maml`` config): MAML / FOMAML / Reptile on users.

Starts from the best checkpoint of ``maml.init_from`` (transfer) or from scratch, samples
user tasks from the warm training users, jits one pure meta-step (tasks sharded over the
``data`` axis, parameters per the logical-axis rules), validates on held-aside warm users
with the cold-user protocol and keeps the best meta-parameters. Resumable like
``jaxrec.training.loop`` (the task stream is a grain iterator, checkpointed with the state).

    jaxrec train --config configs/maml_ml1m.py --data data/ml-1m-warm --workdir runs/maml
"""

from __future__ import annotations

import functools
import logging
import pathlib
import time

import grain
import jax
import numpy as np
import optax
from tqdm.auto import tqdm

from data_pipeline.cold_split import COLD_FILE, cold_sequences, load_cold_split
from data_pipeline.dataset import PreparedDataset
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import TrainConfig
from jaxrec.meta import cold_eval
from jaxrec.meta.maml import Algorithm, InnerLoop, meta_gradient
from jaxrec.meta.params import LOG_LR, ParamSplit, init_meta_params, outer_labels
from jaxrec.meta.tasks import TaskSampler
from jaxrec.training import setup
from jaxrec.training.optim import build_optimizer
from jaxrec.training.scalars import scalar_writer
from jaxrec.training.state import TrainState, abstract_like, create_state

log = logging.getLogger(__name__)

SELECTION_KS = (1, 3, 5)  # checkpoint selection: mean valid NDCG@10 over these k


def meta_step(
    state: TrainState,
    tasks: dict,
    *,
    loop: InnerLoop,
    tx: optax.GradientTransformation,
    algorithm: Algorithm,
) -> tuple[TrainState, dict]:
    """One outer update from a batch of T user tasks (int32[T, L] arrays)."""
    loss, grads = meta_gradient(state.params, tasks, loop, algorithm)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state)
    metrics = {
        "loss": loss,
        "grad_norm": optax.tree.norm(grads),
        "inner_lr": jax.numpy.exp(params[LOG_LR]),
    }
    return new_state, metrics


def initial_params(cfg: TrainConfig, dataset: PreparedDataset, mesh):
    """(graphdef, meta params): the warm run's best parameters, or fresh ones."""
    parts = setup.init_params(cfg, dataset.num_items, mesh, num_users=dataset.num_users)
    base = parts.params
    if cfg.maml.init_from:
        warm = setup.load_trained(cfg.maml.init_from, str(dataset.directory))
        if warm.cfg.model != cfg.model:
            raise ValueError(
                f"maml.init_from={cfg.maml.init_from}: its model config differs from this "
                f"config's model (use the same model settings)"
            )
        shardings = jax.tree.map(lambda x: x.sharding, parts.params)
        base = jax.device_put(warm.params, shardings)
    params = init_meta_params(base, cfg.model.embed_dim, cfg.maml.inner_lr)
    rep = sharding.replicated(mesh)
    params["adapter"] = jax.device_put(params["adapter"], rep)
    params[LOG_LR] = jax.device_put(params[LOG_LR], rep)
    return parts.graphdef, params


def split_users(dataset: PreparedDataset, fraction: float, seed: int):
    """(meta-train sequences, meta-valid sequences, meta-valid user ids).

    With a hold-out that has meta-validation users (``jaxrec data holdout-users
    --valid-fraction``), every warm user meta-trains and the held-out meta-validation users
    (full sequences, ids in the source dataset) validate: neither the warm model nor MAML
    trained on them. Otherwise (older splits, or data without a hold-out) a ``fraction``
    of the warm users is set aside, which the warm model did train on.
    """
    seqs = [rec.items[: rec.n_train] for rec in dataset.records()]
    if (dataset.directory / COLD_FILE).is_file():
        split = load_cold_split(dataset.directory)
        if len(split.valid_users):
            valid = [rec.items for rec in cold_sequences(split, valid=True)]
            return seqs, valid, split.valid_users
    log.warning(
        "%s has no held-out meta-validation users: validating on %.0f %% of the warm users, "
        "whom the warm model trained on (make the split with 'jaxrec data holdout-users "
        "--valid-fraction')",
        dataset.directory,
        100 * fraction,
    )
    order = np.random.default_rng(seed).permutation(len(seqs))
    n_valid = round(fraction * len(seqs))
    valid = np.sort(order[:n_valid])
    train = [seqs[u] for u in np.sort(order[n_valid:])]
    return train, [seqs[u] for u in valid], valid.astype(np.int32)


def task_iterator(sampler: TaskSampler, prefetch_threads: int):
    """Checkpointable endless iterator; element ``i`` is ``sampler(i)``."""
    ds = grain.MapDataset.range(1 << 40).map(sampler)
    read = grain.ReadOptions(num_threads=prefetch_threads, prefetch_buffer_size=4)
    return iter(ds.to_iter_dataset(read_options=read))


def run(cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path) -> dict:
    """Meta-trains ``cfg.maml`` on the users of ``data_dir``; resumes from ``workdir``."""
    m = cfg.maml
    if m.task_len > cfg.model.max_len:
        raise ValueError(f"maml.task_len={m.task_len} > model.max_len={cfg.model.max_len}")
    workdir = pathlib.Path(workdir)
    dataset = PreparedDataset.open(data_dir)
    setup.write_run_files(workdir, cfg, data_dir)
    mesh = sharding.make_mesh(cfg.mesh)
    graphdef, params = initial_params(cfg, dataset, mesh)
    loop = InnerLoop(
        split=ParamSplit.create(params, m.adapt_params),
        graphdef=graphdef,
        steps=m.inner_steps,
        learn_lr=m.learn_inner_lr,
    )
    log.info("inner loop adapts %s", ", ".join(loop.split.adapted_paths()))
    tx = optax.multi_transform(
        {"meta": build_optimizer(cfg.optim, m.meta_steps), "frozen": optax.set_to_zero()},
        outer_labels(params, m.outer_params),
    )
    state = jax.jit(functools.partial(create_state, tx=tx, seed=cfg.seed))(params)
    train_seqs, valid_seqs, valid_users = split_users(dataset, m.meta_valid_fraction, cfg.seed)
    data_iter = task_iterator(TaskSampler(train_seqs, m, cfg.seed), cfg.data.prefetch_threads)
    ckpt = Checkpointer(workdir)
    progress = {"best_metric": -1.0, "best_step": 0, "elapsed_s": 0.0, "history": []}
    if ckpt.latest_step() is not None:
        state, progress = ckpt.restore_latest(abstract_like(state), data_iter)
        log.info("resumed from step %d", int(state.step))
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    batch_sh = sharding.batch_sharding(mesh)
    step_fn = jax.jit(
        functools.partial(meta_step, loop=loop, tx=tx, algorithm=m.algorithm),
        in_shardings=(state_sh, batch_sh),
        out_shardings=(state_sh, sharding.replicated(mesh)),
        donate_argnums=0,
    )
    validator = cold_eval.ColdScorer(loop=loop, num_items=dataset.num_items, m=m, length=m.task_len)
    writer = scalar_writer(workdir)
    budget_s = None if cfg.max_minutes is None else cfg.max_minutes * 60.0
    step = int(state.step)
    valid = (valid_seqs, valid_users)
    if step == 0:  # the starting point competes too: meta-training must beat it to be kept
        _validate(validator, state.params, valid, step, progress, ckpt, writer)
    bar = tqdm(total=m.meta_steps, initial=step, desc="meta-train", unit="step", dynamic_ncols=True)
    tick = time.perf_counter()
    reason = "meta_steps" if step >= m.meta_steps else ""  # a finished run resumes as is
    while not reason:
        tasks = jax.device_put(next(data_iter), batch_sh)
        state, metrics = step_fn(state, tasks)
        step += 1
        bar.update(1)
        now = time.perf_counter()
        progress["elapsed_s"] += now - tick
        tick = now
        if step % cfg.log_every_steps == 0:
            values = {k: float(v) for k, v in jax.device_get(metrics).items()}
            for name, value in values.items():
                writer.add_scalar(f"meta_train/{name}", value, step)
            bar.set_postfix(loss=f"{values['loss']:.4f}", lr=f"{values['inner_lr']:.3f}")
        if step >= m.meta_steps:
            reason = "meta_steps"
        elif budget_s is not None and progress["elapsed_s"] >= budget_s:
            reason = "time_budget"
        if step % m.eval_every_steps == 0 or reason:
            _validate(validator, state.params, valid, step, progress, ckpt, writer)
            ckpt.save_latest(step, state, data_iter, progress)
            tick = time.perf_counter()  # validation time is not training time
    bar.close()
    ckpt.wait()
    ckpt.close()
    writer.close()
    summary = {
        "stop_reason": reason,
        "algorithm": m.algorithm,
        "meta_steps": step,
        "best_step": progress["best_step"],
        "best_valid_cold_ndcg@10": progress["best_metric"],
        "adapted": list(loop.split.adapted_paths()),
        "train_seconds": progress["elapsed_s"],
        "seed": cfg.seed,
    }
    write_json(workdir / "train_summary.json", summary)
    return summary


def _validate(validator, params, valid, step, progress, ckpt, writer) -> None:
    """Cold protocol on held-aside warm users; keeps the best meta-parameters."""
    seqs, users = valid
    results = {
        k: validator.evaluate(params, seqs, users, k, method="maml")[0] for k in SELECTION_KS
    }
    for k, res in results.items():
        writer.add_scalar(f"valid_cold/ndcg_at_10_k{k}", res["ndcg@10"], step)
    metric = float(np.mean([r["ndcg@10"] for r in results.values()]))
    progress["history"].append({"step": step, "valid_cold_ndcg@10": metric})
    if metric > progress["best_metric"]:
        progress["best_metric"], progress["best_step"] = metric, step
        ckpt.save_best(step, params, {"step": step, "valid_cold_ndcg@10": metric})
    tqdm.write(
        f"step {step}: valid cold ndcg@10 (k=1,3,5 mean) {metric:.4f} "
        f"(best {progress['best_metric']:.4f} @ {progress['best_step']})"
    )
