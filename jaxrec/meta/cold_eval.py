"""Cold-user protocol: reveal a held-out user's first k items, rank item k + 1 over the catalogue.

Methods (same held-out users, same full-ranking evaluator, the k revealed items excluded):
``none`` (the warm model on the short history), ``finetune`` (plain SGD from the warm model
with the inner loop's steps, parameters and fixed learning rate ``maml.inner_lr``), ``maml``
(the meta-learned initialisation and learned inner rate); ``maml_noadapt`` (the
meta-trained parameters without the inner loop: an ablation that separates meta-training's
effect on the shared model from per-user adaptation). MostPop (warm training counts) is
reported with every method.

    jaxrec evaluate --workdir runs/maml --cold-users --method maml --out cold.json
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from data_pipeline.cold_split import cold_sequences, load_cold_split
from data_pipeline.dataset import PreparedDataset
from jaxrec import config as config_lib
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.checkpoint import Checkpointer
from jaxrec.evaluation import EvalOptions, evaluate, popularity_score_fn
from jaxrec.meta.maml import InnerLoop, adapted_scores
from jaxrec.meta.params import ParamSplit, init_meta_params
from jaxrec.meta.tasks import cold_eval_data
from jaxrec.training import setup
from jaxrec.training.state import abstract_like

METHODS = ("none", "finetune", "maml", "maml_noadapt")
REPORTED = ("ndcg@10", "hr@10", "ndcg@20", "hr@20", "mrr")


@dataclasses.dataclass
class ColdScorer:
    """Jitted per-user adaptation + scoring for the three methods."""

    loop: InnerLoop
    num_items: int
    m: config_lib.MamlConfig
    length: int = 16
    batch_size: int = 128

    def __post_init__(self):
        no_steps = dataclasses.replace(self.loop, steps=0)
        self._fns = {
            "none": jax.jit(lambda p, h: adapted_scores(p, h, no_steps)),
            "finetune": jax.jit(lambda p, h, lr: adapted_scores(p, h, self.loop, lr)),
            "maml": jax.jit(lambda p, h: adapted_scores(p, h, self.loop)),
        }
        self._fns["maml_noadapt"] = self._fns["none"]

    def score_fn(self, params, method: str, lr: float | None = None):
        """(histories, users) -> float[B, I] for ``method``."""
        fn = self._fns[method]
        if method == "finetune":
            rate = jnp.asarray(self.m.inner_lr if lr is None else lr, jnp.float32)
            return lambda h, u: fn(params, h, rate)
        return lambda h, u: fn(params, h)

    def evaluate(self, params, seqs, users, k: int, *, method: str, lr: float | None = None):
        """(summary, EvalData) of the cold protocol for one k."""
        data = cold_eval_data(seqs, users, k, self.length)
        options = EvalOptions(exclude_seen=True, batch_size=self.batch_size)
        result, _ = evaluate(
            self.score_fn(params, method, lr), data, self.num_items, options, progress=False
        )
        return result, data


def load_run(workdir: pathlib.Path, data_dir, method: str):
    """(cfg, MamlConfig, dataset, graphdef, params for ``method``, where they came from)."""
    cfg = config_lib.from_dict(json.loads((workdir / setup.CONFIG_FILE).read_text()))
    if data_dir is None:
        data_dir = json.loads((workdir / setup.RUN_FILE).read_text())["data"]
    dataset = PreparedDataset.open(data_dir)
    m = cfg.maml or config_lib.MamlConfig()
    if cfg.maml is None:
        if method.startswith("maml"):
            raise ValueError(f"{workdir}: not a MAML run (its config has no maml section)")
        trained = setup.load_trained(workdir, str(data_dir))
        params = init_meta_params(trained.params, cfg.model.embed_dim, m.inner_lr)
        return cfg, m, dataset, trained.graphdef, params, str(workdir)
    mesh = sharding.make_mesh(config_lib.MeshConfig(data=-1, model=1), jax.devices()[:1])
    parts = setup.init_params(cfg, dataset.num_items, mesh, num_users=dataset.num_users)
    if not method.startswith("maml") and m.init_from:
        warm = setup.load_trained(m.init_from, str(data_dir))
        params = init_meta_params(warm.params, cfg.model.embed_dim, m.inner_lr)
        return cfg, m, dataset, parts.graphdef, params, m.init_from
    abstract = abstract_like(init_meta_params(parts.params, cfg.model.embed_dim, m.inner_lr))
    ckpt = Checkpointer(workdir)
    try:
        if not ckpt.has_best():
            raise FileNotFoundError(f"{workdir}: no best meta checkpoint")
        params, _ = ckpt.restore_best(abstract)
    finally:
        ckpt.close()
    if not method.startswith(
        "maml"
    ):  # trained from scratch: the meta-trained base with a fresh adapter
        params = init_meta_params(params["base"], cfg.model.embed_dim, m.inner_lr)
        return cfg, m, dataset, parts.graphdef, params, f"{workdir} (meta-trained base)"
    return cfg, m, dataset, parts.graphdef, params, str(workdir)


def evaluate_cold(
    workdir, *, method: str = "maml", out=None, data_dir=None, inner_lr: float | None = None
) -> dict:
    """Runs the cold-user protocol for ``method`` on the run's held-out users.

    Returns:
        ``{"protocol": "cold-users", "method", "k": {"1": {"ndcg@10", "hr@10",
        "num_users", ...}, ...}, "baselines": {"mostpop": {...}}, ...}`` (also written to
        ``out``).
    """
    if method not in METHODS:
        raise ValueError(f"--method {method!r}: expected one of {METHODS}")
    workdir = pathlib.Path(workdir)
    cfg, m, dataset, graphdef, params, source = load_run(workdir, data_dir, method)
    split = load_cold_split(dataset.directory)
    seqs = [rec.items for rec in cold_sequences(split)]
    loop = InnerLoop(
        split=ParamSplit.create(params, m.adapt_params),
        graphdef=graphdef,
        steps=m.inner_steps,
        learn_lr=False,
    )
    length = max(min(m.task_len, cfg.model.max_len), *m.eval_ks)
    scorer = ColdScorer(loop=loop, num_items=dataset.num_items, m=m, length=length)
    popularity = dataset.item_popularity("test").astype(np.float32)
    per_k, mostpop = {}, {}
    for k in m.eval_ks:
        result, data = scorer.evaluate(params, seqs, split.users, k, method=method, lr=inner_lr)
        per_k[str(k)] = {**{n: result[n] for n in REPORTED}, "num_users": result["num_users"]}
        pop, _ = evaluate(
            popularity_score_fn(popularity),
            data,
            dataset.num_items,
            EvalOptions(exclude_seen=True, batch_size=128),
            progress=False,
        )
        mostpop[str(k)] = {**{n: pop[n] for n in REPORTED}, "num_users": pop["num_users"]}
    lr = {"maml": float(jnp.exp(params["log_inner_lr"])), "none": 0.0, "maml_noadapt": 0.0}.get(
        method, m.inner_lr if inner_lr is None else inner_lr
    )
    output = {
        "protocol": "cold-users",
        "method": method,
        "k": per_k,
        "baselines": {"mostpop": mostpop},
        "exclude_seen": True,
        "inner_loop": {
            "steps": 0 if method in ("none", "maml_noadapt") else m.inner_steps,
            "lr": lr,
            "adapted": list(loop.split.adapted_paths()),
        },
        "params_from": source,
        "cold_users": {
            "source": str(split.source),
            "num_users": len(split.users),
            "fraction": split.fraction,
            "seed": split.seed,
        },
        "model": cfg.model.name,
        "seed": cfg.seed,
    }
    if out is not None:
        write_json(out, output)
    return output
