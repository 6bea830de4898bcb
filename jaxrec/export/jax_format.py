"""The ``jax`` format: parameters as msgpack + the model config; the scoring fn is rebuilt.

Loading rebuilds the model structure from ``metadata.json`` (``train_config``), restores the
parameters into it and jits ``scoring.make_scoring_fn``. Batches are padded up to a power of
two so that a server with varying batch sizes compiles at most log2(max batch) programs.
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import numpy as np
from flax import nnx, serialization

from jaxrec import config as config_lib
from jaxrec.export.artifact import ExportError
from jaxrec.export.context_signature import ContextSpec
from jaxrec.export.scoring import inference_parts, make_scoring_fn
from jaxrec.models import build_model

PARAMS_FILE = "params.msgpack"
# ModelConfig fields naming files a model reads when it is built (frozen features); exports
# carry copies under FEATURES_DIR, recorded relative to the export directory.
FEATURE_FILE_FIELDS = ("text_features", "cf_factors", "residual_ease")
FEATURES_DIR = "features"


def write_params(directory: pathlib.Path, params: nnx.State) -> None:
    """Writes ``DIR/params.msgpack`` (the pure dict of the parameters, on the host)."""
    pure = jax.tree.map(np.asarray, nnx.to_pure_dict(params))
    (directory / PARAMS_FILE).write_bytes(serialization.msgpack_serialize(pure))


def model_sections(metadata: dict) -> list[dict]:
    """Every model-config mapping in export metadata (one per ensemble member, plus the top)."""
    train_config, model_config = metadata["train_config"], metadata["model_config"]
    members = train_config.get("ensemble")
    trained = [c["model"] for c in members] if members else [train_config["model"]]
    return [*trained, *model_config.get("members", [model_config])]


def _with_bundled_files(directory: pathlib.Path, train_config: dict) -> config_lib.TrainConfig:
    """The config with the feature files the export carries resolved against ``directory``."""
    cfg = config_lib.from_dict(train_config)
    bundled = {  # exporter.bundle_feature_files records them relative to the export
        field: str(directory / value)
        for field in FEATURE_FILE_FIELDS
        if (value := getattr(cfg.model, field, "")) and not pathlib.Path(value).is_absolute()
    }
    if bundled:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **bundled))
    return cfg


def load_params(directory: pathlib.Path, metadata: dict) -> tuple[nnx.GraphDef, nnx.State]:
    """The dropout-free inference model of an export, split into (graphdef, params).

    Raises:
        ExportError: the parameters do not fit the model described by the metadata.
    """
    train_config = metadata["train_config"]
    members = train_config.get("ensemble")  # jaxrec.ensemble.export_description
    cfgs = [_with_bundled_files(directory, c) for c in (members or [train_config])]

    def build():
        models = [build_model(cfg.model, metadata["num_items"], seed=0) for cfg in cfgs]
        if members:
            from jaxrec.ensemble import EnsembleModel

            weights = train_config.get("ensemble_weights")  # exports before weights: none
            return EnsembleModel(models, [cfg.model.max_len for cfg in cfgs], weights)
        model = models[0]
        if metadata.get("cold_start"):  # a MAML run: base model + meta-learned adapter
            from jaxrec.export.cold_start import wrap

            model = wrap(model, cfgs[0].model.embed_dim)
        return model

    abstract = nnx.eval_shape(build)
    graphdef, state = nnx.split(abstract)
    path = directory / PARAMS_FILE
    restored = serialization.msgpack_restore(path.read_bytes())
    try:
        nnx.replace_by_pure_dict(state, restored)
    except (KeyError, ValueError, TypeError) as err:
        raise ExportError(f"{path}: parameters do not match the model config: {err}") from err
    for leaf_path, leaf in jax.tree_util.tree_leaves_with_path(state):
        if not isinstance(leaf, np.ndarray | jax.Array):
            raise ExportError(f"{path}: parameter {jax.tree_util.keystr(leaf_path)} missing")
    return inference_parts(graphdef, state)


def _bucket(batch: int) -> int:
    return 1 << max(batch - 1, 0).bit_length()


def pad_to_bucket(histories: np.ndarray, exclude_seen: np.ndarray, *context: np.ndarray):
    """(int32[P, L], bool[P], *context): rows padded with empty ones up to P = next power of two.

    ``context`` arrays (int32[B, ...], context models) get zero rows (all unknown).
    """
    batch = histories.shape[0]
    padded = _bucket(batch)
    if padded == batch:
        return (histories, exclude_seen, *context)
    return tuple(
        np.concatenate([a, np.zeros((padded - batch, *a.shape[1:]), a.dtype)])
        for a in (histories, exclude_seen, *context)
    )


class JaxScorer:
    """Jitted scoring of a ``jax`` export: numpy in, numpy out.

    Attributes:
        graphdef: the inference model's structure.
        params: its parameters, on the default device.
    """

    def __init__(self, directory: pathlib.Path, metadata: dict):
        """Restores the parameters onto the default device and jits the scoring fn.

        The jitted function takes the parameters as a flat list of arrays: flattening an
        ``nnx.State`` runs Python code for every leaf on every call (~0.5 ms of GIL time per
        call here), a list of arrays is flattened in C++.
        """
        self.graphdef, params = load_params(directory, metadata)
        self.params = jax.device_put(params)
        self._leaves, treedef = jax.tree.flatten(self.params)
        context = ContextSpec.from_metadata(metadata)
        score = make_scoring_fn(self.graphdef, int(metadata["k_max"]), context=context)

        def score_flat(leaves, histories, exclude_seen, *inputs):
            return score(jax.tree.unflatten(treedef, leaves), histories, exclude_seen, *inputs)

        self._score = jax.jit(score_flat)

    def __call__(self, histories: np.ndarray, exclude_seen: np.ndarray, *context: np.ndarray):
        """(int32[B, K], float32[B, K]) for int32[B, L], bool[B] and the context inputs."""
        batch = histories.shape[0]
        padded = pad_to_bucket(histories, exclude_seen, *context)
        ids, scores = self._score(self._leaves, *padded)
        return np.asarray(ids)[:batch], np.asarray(scores)[:batch]
