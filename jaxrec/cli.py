"""``jaxrec`` command line: data prepare/download, train, evaluate.

Exit codes: 0 success, 2 bad input (one line on stderr naming file, line and problem).
"""

from __future__ import annotations

import argparse
import json
import logging
import pathlib
import sys

log = logging.getLogger("jaxrec")

SOURCES = ("sasrec-txt", "s3rec-txt", "movielens", "amazon-reviews", "recbole-atomic")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrec", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare or download datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    prep = data_sub.add_parser("prepare", help="raw interactions -> prepared dataset dir")
    prep.add_argument("--source", required=True, choices=SOURCES)
    prep.add_argument("--input", required=True, type=pathlib.Path, help="file or folder")
    prep.add_argument("--out", required=True, type=pathlib.Path)
    prep.add_argument("--kcore", type=int, default=None, help="iterative k-core filter")
    prep.add_argument(
        "--cold-items",
        type=float,
        default=None,
        metavar="FRACTION",
        help="hold this share of items out of training (their events become test targets)",
    )
    prep.add_argument("--seed", type=int, default=0, help="seed of the cold-item draw")
    prep.add_argument(
        "--engine",
        choices=("local", "ray", "ray-data"),
        default="local",
        help="local: this process; ray: Ray tasks on a Ray cluster; ray-data: Ray Data "
        "Datasets on a Ray cluster (same output files)",
    )
    prep.add_argument("--ray-address", default=None, help="Ray cluster (default: start one)")
    prep.add_argument("--ray-cpus", type=int, default=None, help="CPUs of a started cluster")
    down = data_sub.add_parser("download", help="fetch a public dataset (checksum-verified)")
    down.add_argument("name", choices=("movielens-1m", "movielens-100k"))
    down.add_argument("--out", required=True, type=pathlib.Path)
    hold = data_sub.add_parser("holdout-users", help="warm dataset without seed-chosen cold users")
    hold.add_argument("--data", required=True, type=pathlib.Path, help="prepared dataset dir")
    hold.add_argument("--out", required=True, type=pathlib.Path)
    hold.add_argument("--fraction", type=float, default=0.1)
    hold.add_argument("--seed", type=int, default=0)
    hold.add_argument(
        "--valid-fraction",
        type=float,
        default=0.05,
        help="share of users also held out, for MAML's checkpoint selection (0: none)",
    )

    train = sub.add_parser("train", help="train a model")
    _add_train_args(train)
    # Multi-host: every process runs the same command with its own --process-id.
    train.add_argument("--coordinator", default=None, help="host:port ($JAXREC_COORDINATOR)")
    train.add_argument("--num-processes", type=int, default=None, help="($JAXREC_NUM_PROCESSES)")
    train.add_argument("--process-id", type=int, default=None, help="($JAXREC_PROCESS_ID)")

    ev = sub.add_parser("evaluate", help="rank held-out items of a trained run")
    ev.add_argument("--workdir", required=True, type=pathlib.Path)
    ev.add_argument("--split", choices=("test", "valid"), default="test")
    ev.add_argument("--out", required=True, type=pathlib.Path)
    ev.add_argument("--dump-topk", type=pathlib.Path, default=None)
    ev.add_argument("--k", type=int, default=100, help="length of the dumped lists")
    ev.add_argument("--data", type=pathlib.Path, default=None, help="override the data dir")
    ev.add_argument(
        "--sampled",
        type=int,
        default=0,
        metavar="N",
        help="rank against N sampled negatives instead of the full catalogue",
    )
    ev.add_argument(
        "--include-seen",
        action="store_true",
        help="keep items of the user's history among the candidates",
    )
    ev.add_argument(
        "--cold-users",
        action="store_true",
        help="cold-user protocol on the users held out of the run's data (jaxrec/meta)",
    )
    ev.add_argument("--method", choices=("maml", "none", "finetune"), default="maml")
    ev.add_argument("--inner-lr", type=float, default=None, help="finetune's SGD rate")
    exp = sub.add_parser("export", help="export a trained run for serving (jax/onnx/...)")
    from jaxrec.export.command import add_arguments as _add_export_args

    _add_export_args(exp)
    prof = sub.add_parser("profile", help="time, roofline and trace training steps (JSON)")
    _add_profile_args(prof)
    srv = sub.add_parser("serve", help="serve an export over HTTP (Ray Serve) until interrupted")
    from serve.local import add_arguments as _add_serve_args

    _add_serve_args(srv)
    text = sub.add_parser("text", help="text features (MiniLM sentence encoder)")
    text_sub = text.add_subparsers(dest="text_command", required=True)
    enc = text_sub.add_parser("encode", help="one L2-normalised 384-dim row per input line")
    enc.add_argument("--input", required=True, type=pathlib.Path, help="UTF-8 text, one per line")
    enc.add_argument("--out", required=True, type=pathlib.Path, help="float32[N, 384] .npy")
    enc.add_argument("--batch-size", type=int, default=64)
    return parser


def _add_profile_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=pathlib.Path)
    parser.add_argument("--data", required=True, type=pathlib.Path, help="prepared dataset dir")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="JSON report")
    parser.add_argument("--trace-dir", type=pathlib.Path, default=None)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after compiling")
    parser.add_argument(
        "--cpu-devices", type=int, default=None, help="emulate N CPU devices (mesh tests)"
    )
    parser.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE")


def _add_train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=pathlib.Path)
    parser.add_argument("--data", required=True, type=pathlib.Path, help="prepared dataset dir")
    parser.add_argument("--workdir", required=True, type=pathlib.Path)
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="wall-clock budget (per ensemble member)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="the config's seed (ensemble member i: SEED + i)"
    )
    parser.add_argument(
        "--set",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config fields, e.g. --set model.embed_dim=128 loss.name=bce (repeatable)",
    )


def cmd_prepare(args) -> int:
    """``jaxrec data prepare``."""
    from data_pipeline.prepare import prepare

    if args.engine in ("ray", "ray-data"):
        if args.cold_items is not None:
            raise ValueError(
                f"--engine {args.engine} does not support --cold-items; use --engine local"
            )
        if args.engine == "ray":
            from data_pipeline.ray_prepare import prepare_ray as prepare_on_ray
        else:
            from data_pipeline.ray_data_prepare import prepare_ray_data as prepare_on_ray

        manifest = prepare_on_ray(
            args.source,
            args.input,
            args.out,
            address=args.ray_address,
            num_cpus=args.ray_cpus,
            kcore=args.kcore,
        )
    elif args.cold_items is not None:
        from data_pipeline.cold_items import prepare_with_cold_items

        manifest = prepare_with_cold_items(
            args.source,
            args.input,
            args.out,
            fraction=args.cold_items,
            seed=args.seed,
            kcore=args.kcore,
        )
    else:
        manifest = prepare(args.source, args.input, args.out, kcore=args.kcore)
    print(json.dumps({k: manifest[k] for k in ("num_users", "num_items", "num_interactions")}))
    return 0


def cmd_download(args) -> int:
    """``jaxrec data download``."""
    from data_pipeline.download import download

    print(download(args.name, args.out))
    return 0


def cmd_holdout(args) -> int:
    """``jaxrec data holdout-users``: warm dataset + recorded cold users."""
    from data_pipeline.cold_split import holdout_users

    split = holdout_users(
        args.data,
        args.out,
        fraction=args.fraction,
        seed=args.seed,
        valid_fraction=args.valid_fraction,
    )
    summary = {"out": str(args.out), "cold_users": len(split.users), "seed": split.seed}
    print(json.dumps({**summary, "meta_valid_users": len(split.valid_users)}))
    return 0


def cmd_train(args) -> int:
    """``jaxrec train`` (also ``python train.py``)."""
    from jaxrec import distributed

    distributed.initialize(distributed.spec_from(args))
    from jaxrec import config as config_lib
    from jaxrec.training.fit import fit

    with distributed.exit_at_once_on_error():
        experiment = config_lib.load_experiment(args.config)
        if isinstance(experiment, config_lib.EnsembleConfig):
            from jaxrec.ensemble import train_ensemble

            summary = train_ensemble(
                experiment,
                args.config,
                args.data,
                args.workdir,
                overrides=args.set,
                seed=args.seed,
                max_minutes=args.max_minutes,
            )
        else:
            cfg = config_lib.apply_overrides(experiment, args.set)
            extra = {}
            if args.seed is not None:
                extra["seed"] = args.seed
            if args.max_minutes is not None:
                extra["max_minutes"] = args.max_minutes
            summary = fit(config_lib.dataclasses.replace(cfg, **extra), args.data, args.workdir)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_profile(args) -> int:
    """``jaxrec profile``: compile time, step-time breakdown, roofline, memory, trace."""
    import jax

    if args.cpu_devices:
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)
    from jaxrec import config as config_lib
    from jaxrec.profiling import profile

    cfg = config_lib.apply_overrides(config_lib.load_config(args.config), args.set)
    report = profile(
        cfg, args.data, steps=args.steps, out=args.out, trace_dir=args.trace_dir, warmup=args.warmup
    )
    print(json.dumps(report, indent=2))
    return 0


def cmd_export(args) -> int:
    """``jaxrec export``: a trained run -> serving artifact + metadata (jaxrec/export/)."""
    from jaxrec.export.command import run

    return run(args)


def cmd_serve(args) -> int:
    """``jaxrec serve``: Ray Serve (or plain uvicorn with --no-ray) on 127.0.0.1 by default."""
    from serve.local import main as serve_main

    return serve_main(args)


def cmd_evaluate(args) -> int:
    """``jaxrec evaluate``."""
    from jaxrec.evaluate_run import evaluate_workdir

    if args.cold_users:
        from jaxrec.meta.cold_eval import evaluate_cold

        result = evaluate_cold(
            args.workdir,
            method=args.method,
            out=args.out,
            data_dir=args.data,
            inner_lr=args.inner_lr,
        )
        print(json.dumps(result, indent=2))
        return 0

    result = evaluate_workdir(
        args.workdir,
        split=args.split,
        out=args.out,
        dump_topk=args.dump_topk,
        dump_k=args.k,
        data_dir=args.data,
        sampled=args.sampled,
        include_seen=args.include_seen,
    )
    from jaxrec.text.cold_eval import add_cold_items

    result = add_cold_items(result, args)  # a no-op unless the data has cold items
    print(json.dumps(result, indent=2))
    return 0


def cmd_text(args) -> int:
    """``jaxrec text encode``."""
    from jaxrec.text.encode import encode_file

    print(json.dumps(encode_file(args.input, args.out, batch_size=args.batch_size)))
    return 0


COMMANDS = {
    "prepare": cmd_prepare,
    "download": cmd_download,
    "holdout-users": cmd_holdout,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "export": cmd_export,
    "profile": cmd_profile,
    "serve": cmd_serve,
    "text": cmd_text,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxrec`` console script."""
    args = _parser().parse_args(argv)
    import absl.logging

    # orbax logs every save step at INFO through absl; keep the console for our progress.
    absl.logging.set_verbosity(absl.logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from data_pipeline.errors import DataFormatError

    name = args.data_command if args.command == "data" else args.command
    try:
        return COMMANDS[name](args)
    except (DataFormatError, OSError, ValueError, TypeError) as err:
        print(f"jaxrec {name}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
