"""Ensembles: members trained one after another, scored by the weighted mean of their scores.

A workdir trained from an ``EnsembleConfig`` holds ``ensemble.json`` and one ordinary workdir
per member under ``members/``. With equal weights (the default) the score is the mean of the
members' logits, which ranks like the mean of their log-probabilities (the two differ by a
per-user constant). A member whose scores are not logits (EASE's ``x B``) gets a weight
chosen on validation.

    jaxrec train --config configs/best_ml1m.py --data DATA_DIR --workdir runs/best
    jaxrec evaluate --workdir runs/best
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib

import jax
from flax import nnx

from jaxrec import config as config_lib
from jaxrec.atomic_io import write_json
from jaxrec.config import EnsembleConfig, TrainConfig
from jaxrec.types import Array

ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"
# Filled in by `fit` (absolute paths of frozen-feature files, the EASE residual's searched
# L2 and recency) or a budget, not model identity.
_RUN_ONLY_FIELDS = (
    ("max_minutes",),
    ("model", "cf_factors"),
    ("model", "text_features"),
    ("model", "residual_ease"),
    ("model", "residual_l2"),
    ("model", "residual_recency"),
)

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Member:
    """A member resolved for one run: its directory name, config file and final config."""

    name: str
    config_path: pathlib.Path
    overrides: tuple[str, ...]  # the member's own (the ensemble file's), not the command line's
    cfg: TrainConfig
    weight: float


def is_ensemble(workdir: str | pathlib.Path) -> bool:
    """Whether ``workdir`` was trained from an ensemble config."""
    return (pathlib.Path(workdir) / ENSEMBLE_FILE).is_file()


def resolve_members(
    ensemble: EnsembleConfig,
    config_path: str | pathlib.Path,
    *,
    overrides: list[str] = (),
    seed: int | None = None,
    max_minutes: float | None = None,
) -> list[Member]:
    """Loads every member config, relative to the ensemble's own file.

    Args:
        ensemble: the members.
        config_path: the ensemble config file (member paths are relative to its folder).
        overrides: ``--set`` values, applied to every member after its own overrides.
        seed: when given, member ``i`` gets ``seed + i`` instead of its listed seed.
        max_minutes: each member's training budget (None keeps the member's own).
    """
    folder = pathlib.Path(config_path).resolve().parent
    members = []
    for i, spec in enumerate(ensemble.members):
        path = folder / spec.config
        cfg = config_lib.apply_overrides(
            config_lib.load_config(path), [*spec.overrides, *overrides]
        )
        member_seed = spec.seed if seed is None else seed + i
        budget = cfg.max_minutes if max_minutes is None else max_minutes
        cfg = dataclasses.replace(cfg, seed=member_seed, max_minutes=budget)
        name = f"m{i}-{path.stem}-seed{member_seed}"
        members.append(Member(name, path, spec.overrides, cfg, spec.weight))
    return members


def _identity(cfg_dict: dict) -> dict:
    """A config mapping without the fields that do not change the trained model."""
    out = json.loads(json.dumps(cfg_dict))
    for path in _RUN_ONLY_FIELDS:
        node = out
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
    return out


def _finished(member: Member, workdir: pathlib.Path) -> bool:
    """True when ``workdir`` holds this member, fully trained.

    Raises:
        ValueError: ``workdir`` holds a run of a different config (never silently reused).
    """
    from jaxrec.training.setup import CONFIG_FILE

    saved = workdir / CONFIG_FILE
    if not saved.is_file():
        return False
    saved_cfg = config_lib.to_dict(config_lib.from_dict(json.loads(saved.read_text())))
    if _identity(saved_cfg) != _identity(config_lib.to_dict(member.cfg)):
        raise ValueError(
            f"{workdir}: holds a run of a different config than member {member.name} "
            f"({member.config_path}); remove it or use another --workdir"
        )
    return (workdir / "train_summary.json").is_file()


def train_ensemble(
    ensemble: EnsembleConfig,
    config_path: str | pathlib.Path,
    data_dir: str | pathlib.Path,
    workdir: str | pathlib.Path,
    *,
    overrides: list[str] = (),
    seed: int | None = None,
    max_minutes: float | None = None,
) -> dict:
    """Trains the members, then validates the ensemble and writes ``ensemble.json``.

    Member ``i`` trains into ``workdir/members/NAME``; a member already trained there with
    the same config is kept, so an interrupted ensemble resumes.

    Returns:
        The ``ensemble.json`` contents: members (name, config, seed, best validation
        NDCG@10) and the ensemble's validation metrics.
    """
    from jaxrec.training.fit import fit
    from jaxrec.training.setup import RUN_FILE

    workdir = pathlib.Path(workdir)
    members = resolve_members(
        ensemble, config_path, overrides=overrides, seed=seed, max_minutes=max_minutes
    )
    rows = []
    for number, member in enumerate(members, 1):
        member_dir = workdir / MEMBERS_DIR / member.name
        if _finished(member, member_dir):
            log.info("member %d/%d %s: already trained, kept", number, len(members), member.name)
        else:
            log.info("member %d/%d %s: training", number, len(members), member.name)
            fit(member.cfg, data_dir, member_dir)
        summary = json.loads((member_dir / "train_summary.json").read_text())
        rows.append(
            {
                "name": member.name,
                "workdir": f"{MEMBERS_DIR}/{member.name}",
                "config": str(member.config_path),
                "seed": member.cfg.seed,
                "overrides": list(member.overrides),
                "weight": member.weight,
                "model": member.cfg.model.name,
                "train_summary": summary,
            }
        )
    record = {
        "members": rows,
        "combine": "weighted_mean",
        "data": str(pathlib.Path(data_dir).resolve()),
    }
    write_json(workdir / RUN_FILE, {"data": record["data"]})
    write_json(workdir / ENSEMBLE_FILE, record)  # members first: validation reads the file
    from jaxrec.evaluate_run import evaluate_workdir

    valid = evaluate_workdir(workdir, split="valid", data_dir=data_dir)
    record["valid"] = {k: valid[k] for k in ("ndcg@10", "hr@10", "mrr", "num_users")}
    write_json(workdir / ENSEMBLE_FILE, record)
    return record


class EnsembleModel(nnx.Module):
    """Members scored together: float[B, I] is the weighted mean of the members' scores.

    Each member reads the most recent ``max_len`` items of the int32[B, L] histories it gets
    (members may have different windows). ``weights`` default to 1 each (the plain mean).
    """

    def __init__(
        self,
        members: list[nnx.Module],
        max_lens: list[int],
        weights: list[float] | None = None,
    ):
        self.members = nnx.List(members)
        self.max_lens = tuple(int(n) for n in max_lens)
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or min(weights) <= 0:
            raise ValueError(f"need one weight > 0 per member, got {weights}")
        self.weights = tuple(w / sum(weights) for w in weights)

    def score_all(self, histories: Array, users: Array | None = None) -> Array:
        """float32[B, I] weighted mean of the member scores; column 0 (padding) is -inf.

        Members score through ``export.scoring.all_scores`` (last position only, no
        scatter), so evaluation and every export format run the same graph.
        """
        del users  # history-only members (checked by ``load_ensemble``)
        from jaxrec.export.scoring import all_scores

        total = None
        for member, max_len, weight in zip(self.members, self.max_lens, self.weights, strict=True):
            scores = weight * all_scores(member, histories[:, -max_len:])
            total = scores if total is None else total + scores
        return total


@dataclasses.dataclass(frozen=True)
class LoadedEnsemble:
    """What evaluation needs from a trained ensemble."""

    members: list  # jaxrec.training.setup.TrainedModel, one per member
    graphdef: nnx.GraphDef
    params: nnx.State
    record: dict

    @property
    def dataset(self):
        """The prepared dataset every member was trained on."""
        return self.members[0].dataset

    @property
    def max_len(self) -> int:
        """The longest member window: evaluation histories are cut to this."""
        return max(m.cfg.model.max_len for m in self.members)


def member_weights(record: dict) -> list[float]:
    """Each member's weight in an ``ensemble.json`` record (runs from before weights: 1 each)."""
    return [row.get("weight", 1.0) for row in record["members"]]


def load_ensemble(workdir: str | pathlib.Path, data_dir: str | None = None) -> LoadedEnsemble:
    """Loads every member's best checkpoint and joins them into one ``EnsembleModel``.

    Raises:
        ValueError: a member reads context features or user ids (not supported in ensembles).
    """
    from jaxrec.context_features import CONTEXT_MODELS
    from jaxrec.models import USER_MODELS
    from jaxrec.training.setup import load_trained

    workdir = pathlib.Path(workdir)
    record = json.loads((workdir / ENSEMBLE_FILE).read_text())
    data_dir = data_dir or record["data"]
    members = [load_trained(workdir / row["workdir"], data_dir) for row in record["members"]]
    for row, member in zip(record["members"], members, strict=True):
        # loss.sentiment_weight alone changes training only: such members score from history.
        if member.cfg.model.name in (*CONTEXT_MODELS, *USER_MODELS):
            raise ValueError(
                f"{workdir / row['workdir']}: model.name={member.cfg.model.name!r} reads "
                "context or user ids; ensembles take history-only members"
            )
    max_lens = [m.cfg.model.max_len for m in members]
    weights = member_weights(record)
    model = EnsembleModel([nnx.merge(m.graphdef, m.params) for m in members], max_lens, weights)
    graphdef, params = nnx.split(model)
    return LoadedEnsemble(members, graphdef, params, record)


def ensemble_score_fn(loaded: LoadedEnsemble):
    """Jitted ``(histories int32[B, L], users int32[B]) -> float[B, I]`` for ``evaluate``."""

    @jax.jit
    def score(params, histories, users):
        return nnx.merge(loaded.graphdef, params).score_all(histories, users)

    return lambda histories, users: score(loaded.params, histories, users)


def export_description(loaded: LoadedEnsemble) -> dict:
    """The metadata fields an export of the ensemble records (``jaxrec.export.exporter``).

    ``train_config.ensemble`` lists each member's full config and ``ensemble_weights`` their
    weights, from which ``jax_format.load_params`` rebuilds this ``EnsembleModel``.
    """
    configs = [config_lib.to_dict(m.cfg) for m in loaded.members]
    return {
        "model_name": "ensemble",
        "model_config": {"name": "ensemble", "members": [c["model"] for c in configs]},
        "train_config": {"ensemble": configs, "ensemble_weights": member_weights(loaded.record)},
        "max_len": loaded.max_len,
    }
