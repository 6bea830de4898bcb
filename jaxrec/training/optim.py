"""optax builders from ``OptimConfig``."""

from __future__ import annotations

import jax
import optax

from jaxrec.config import OptimConfig


def learning_rate_schedule(cfg: OptimConfig, total_steps: int) -> optax.Schedule:
    """Linear warm-up to ``learning_rate``, then constant, cosine or linear decay."""
    warmup = max(0, min(cfg.warmup_steps, total_steps - 1))
    rest = max(1, total_steps - warmup)
    end = cfg.learning_rate * cfg.end_factor
    if cfg.schedule == "constant":
        decay = optax.constant_schedule(cfg.learning_rate)
    elif cfg.schedule == "cosine":
        decay = optax.cosine_decay_schedule(cfg.learning_rate, rest, alpha=cfg.end_factor)
    else:
        decay = optax.linear_schedule(cfg.learning_rate, end, rest)
    if warmup == 0:
        return decay
    ramp = optax.linear_schedule(cfg.learning_rate / warmup, cfg.learning_rate, warmup)
    return optax.join_schedules([ramp, decay], [warmup])


def build_optimizer(cfg: OptimConfig, total_steps: int) -> optax.GradientTransformation:
    """Global-norm clipping, then AdamW; weight decay only on matrices (ndim >= 2)."""
    schedule = learning_rate_schedule(cfg, total_steps)
    decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)
    return optax.chain(
        optax.clip_by_global_norm(cfg.grad_clip_norm),
        optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay, mask=decay_mask),
    )
