"""Arguments and dispatch of ``jaxrec export`` (kept here so ``jaxrec/cli.py`` stays thin)."""

from __future__ import annotations

import argparse
import json
import pathlib

FORMAT_CHOICES = ("savedmodel", "onnx", "tensorrt", "jax")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--workdir --format --out`` and the optional export settings."""
    parser.add_argument("--workdir", required=True, type=pathlib.Path, help="trained run")
    parser.add_argument("--format", required=True, choices=FORMAT_CHOICES)
    parser.add_argument("--out", required=True, type=pathlib.Path, help="export dir to create")
    parser.add_argument("--k-max", type=int, default=100, help="list length (<= catalogue)")
    parser.add_argument("--data", type=pathlib.Path, default=None, help="override the data dir")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    trt = parser.add_argument_group("tensorrt")
    trt.add_argument("--fp16", action="store_true", help="allow FP16 kernels in the engine")
    trt.add_argument("--min-batch", type=int, default=1)
    trt.add_argument("--opt-batch", type=int, default=32)
    trt.add_argument("--max-batch", type=int, default=256)


def run(args: argparse.Namespace) -> int:
    """Runs the export; prints a JSON summary (format, out, k_max, checksum)."""
    from jaxrec.export.exporter import export_run
    from jaxrec.export.trt_engine import EngineOptions

    trt_options = None
    if args.format == "tensorrt":
        trt_options = EngineOptions(
            min_batch=args.min_batch,
            opt_batch=args.opt_batch,
            max_batch=args.max_batch,
            fp16=args.fp16,
        )
    metadata = export_run(
        args.workdir,
        args.format,
        args.out,
        k_max=args.k_max,
        data_dir=args.data,
        overwrite=args.overwrite,
        trt_options=trt_options,
    )
    keys = ("format", "model_name", "max_len", "num_items", "k_max", "checksum", "model_version")
    print(json.dumps({"out": str(args.out), **{k: metadata[k] for k in keys}}, indent=2))
    return 0
