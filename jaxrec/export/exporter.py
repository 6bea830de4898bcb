"""``jaxrec export``: a trained run's best parameters -> one serving artifact directory.

    export_run("runs/ml1m", "onnx", "exports/ml1m_onnx", k_max=100)

Every format exports the same function (``scoring.py``): int32[B, L] left-padded histories of
internal item ids and bool[B] exclude-seen flags -> (int32[B, K] item ids, float32[B, K]
scores), best first, ``K = min(k_max, num_items)``, dynamic ``B``. Context models
(``sasrec_context``, ``sasrec_text_context``) take their context ids as further inputs
(``context_signature.py``) and ship the featurizer's constants in ``metadata["context"]``
(``context_featurizer.py``).
"""

from __future__ import annotations

import datetime
import logging
import pathlib
import shutil

from jaxrec import __version__, ensemble
from jaxrec import config as config_lib
from jaxrec.export import (
    context_featurizer,
    jax_format,
    onnx_format,
    savedmodel_format,
    trt_engine,
)
from jaxrec.export.artifact import ITEMS_FILE, ExportError, finalize_metadata, staging_dir
from jaxrec.export.context_signature import ContextSpec
from jaxrec.export.scoring import bind_params, inference_parts, make_scoring_fn

FORMATS = ("jax", "onnx", "savedmodel", "tensorrt")
DEFAULT_K_MAX = 100

log = logging.getLogger(__name__)


def export_run(
    workdir: str | pathlib.Path,
    fmt: str,
    out: str | pathlib.Path,
    *,
    k_max: int = DEFAULT_K_MAX,
    data_dir: str | None = None,
    overwrite: bool = False,
    trt_options: trt_engine.EngineOptions | None = None,
) -> dict:
    """Exports the best checkpoint of ``workdir`` as ``fmt`` into ``out`` (atomically).

    Args:
        workdir: a finished ``jaxrec train`` run.
        fmt: one of ``FORMATS``.
        out: the export directory to create.
        k_max: list length K (capped at the catalogue size).
        data_dir: override the dataset location recorded in the run.
        overwrite: replace an existing ``out``.
        trt_options: engine build options for ``tensorrt``.

    Returns:
        The written metadata.

    Raises:
        ExportError: bad format/k_max, unsupported model, existing ``out``, or TensorRT absent
            (checked before anything is loaded or written).
    """
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: expected one of {FORMATS}")
    if k_max < 1:
        raise ExportError(f"--k-max {k_max}: must be >= 1")
    if fmt == "tensorrt":
        trt_engine.require_tensorrt()
    out = pathlib.Path(out)
    if out.exists() and not overwrite:
        raise ExportError(f"{out}: already exists (pass --overwrite to replace it)")

    from jaxrec.export import cold_start
    from jaxrec.models import USER_MODELS
    from jaxrec.training.setup import load_trained

    cold, context = None, None
    if ensemble.is_ensemble(workdir):  # members joined into one model (mean of logits)
        trained = ensemble.load_ensemble(workdir, data_dir)
        description = ensemble.export_description(trained)
        source = {"checkpoint_step": None, "valid": trained.record.get("valid")}
    else:
        if cold_start.is_meta_run(workdir):  # MAML: base model + adapter; jax adapts at serving
            trained, cold = cold_start.load_meta_trained(workdir, data_dir)
        else:
            trained = load_trained(workdir, data_dir)
        cfg = trained.cfg
        if cfg.model.name in USER_MODELS:
            raise ExportError(f"model.name={cfg.model.name!r}: needs user ids; only history models")
        # Only models that read context at inference need it; loss.sentiment_weight alone
        # (a training-time loss weight) exports like any history model.
        context = ContextSpec.for_model(cfg.model)
        _check_context_format(cfg.model.name, context, fmt, cold)
        description = {
            "model_name": cfg.model.name,
            "model_config": config_lib.to_dict(cfg)["model"],
            "train_config": config_lib.to_dict(cfg),
            "max_len": cfg.model.max_len,
        }
        source = {"checkpoint_step": trained.meta.get("step"), "valid": trained.meta.get("valid")}
    dataset, max_len = trained.dataset, description["max_len"]
    k = min(k_max, dataset.num_items)
    graphdef, params = inference_parts(trained.graphdef, trained.params)
    metadata = {
        "format": fmt,
        "metadata_version": 1,
        **description,
        "num_items": dataset.num_items,
        "k_max": k,
        "signature": {
            "inputs": {
                "histories": ["B", max_len, "int32"],
                "exclude_seen": ["B", "bool"],
                **(context.signature(max_len) if context else {}),
            },
            "outputs": {"item_ids": ["B", k, "int32"], "scores": ["B", k, "float32"]},
            "padding_id": 0,
            "excluded_score": "-inf",
        },
        "item_catalog": ITEMS_FILE,
        "jaxrec_version": __version__,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "source": {
            "workdir": str(pathlib.Path(workdir).resolve()),
            "data": str(dataset.directory.resolve()),
            **source,
        },
    }
    if cold is not None:
        metadata["cold_start"] = cold
    if context is not None:
        featurizer = context_featurizer.describe(context, dataset)
        metadata["context"] = {**context.to_metadata(), "featurizer": featurizer}
    with staging_dir(out, overwrite=overwrite) as tmp:
        shutil.copyfile(dataset.directory / ITEMS_FILE, tmp / ITEMS_FILE)
        bundle_feature_files(tmp, metadata)
        extra = _write_format(fmt, tmp, graphdef, params, k, max_len, trt_options, context)
        metadata = finalize_metadata(tmp, {**metadata, **extra})
    log.info("exported %s (%s) to %s", description["model_name"], fmt, out)
    return metadata


def _check_context_format(name: str, context, fmt: str, cold) -> None:
    """Refuses the combinations a context model cannot be exported in (yet)."""
    if context is None:
        return
    if fmt == "tensorrt":
        raise ExportError(
            f"model.name={name!r} reads context; --format tensorrt builds its engine profile "
            "for histories only. Export it as onnx, jax or savedmodel"
        )
    if cold is not None:
        raise ExportError(
            f"model.name={name!r}: cold-start adaptation of a context model is not exported"
        )


def _write_format(fmt, directory, graphdef, params, k, max_len, trt_options, context) -> dict:
    """Writes the format's files into ``directory``; returns extra metadata fields."""
    score = make_scoring_fn(graphdef, k, context=context)
    inputs = context.signature(max_len) if context else None
    if fmt == "jax":
        jax_format.write_params(directory, params)
        return {"artifact": jax_format.PARAMS_FILE}
    if fmt == "savedmodel":
        score_sorted = make_scoring_fn(graphdef, k, sort_based=True, context=context)
        savedmodel_format.write_savedmodel(
            directory / savedmodel_format.SAVEDMODEL_DIR, score_sorted, params, max_len, inputs
        )
        return {"artifact": savedmodel_format.SAVEDMODEL_DIR}
    onnx_path = directory / onnx_format.ONNX_FILE
    onnx_format.write_onnx(onnx_path, bind_params(score, params), max_len, inputs)
    if fmt == "onnx":
        return {"artifact": onnx_format.ONNX_FILE, "onnx_opset": onnx_format.OPSET}
    options = trt_options or trt_engine.EngineOptions()
    info = trt_engine.build_engine(onnx_path, directory / trt_engine.ENGINE_FILE, max_len, options)
    return {"artifact": trt_engine.ENGINE_FILE, "onnx_opset": onnx_format.OPSET, "tensorrt": info}


def bundle_feature_files(directory: pathlib.Path, metadata: dict) -> None:
    """Copies the frozen-feature files the model is built from into ``directory/features/``.

    ``model.text_features`` / ``model.cf_factors`` name files outside the run; the export
    carries its own copies and records them relative to itself, so it loads on any machine
    (``jax_format.load_params`` resolves them against the export directory).
    """
    for model in jax_format.model_sections(metadata):
        for field in jax_format.FEATURE_FILE_FIELDS:
            source = model.get(field)
            if not source:
                continue
            target = pathlib.Path(jax_format.FEATURES_DIR) / pathlib.Path(source).name
            if not (directory / target).is_file():
                (directory / jax_format.FEATURES_DIR).mkdir(exist_ok=True)
                shutil.copyfile(source, directory / target)
            model[field] = str(target)
