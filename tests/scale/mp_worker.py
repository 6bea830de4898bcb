"""One process of the two-process test: joins the cluster, trains a few steps, writes losses.

    python -m tests.scale.mp_worker --coordinator 127.0.0.1:PORT --num-processes 2 \
        --process-id I --data DIR --steps N --out losses_I.json
"""

import argparse
import json

from jaxrec import distributed


def main() -> None:
    parser = argparse.ArgumentParser()
    distributed.add_arguments(parser)
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--local-devices", type=int, default=4)
    args = parser.parse_args()
    spec = distributed.spec_from(args)
    spec = distributed.ClusterSpec(
        spec.coordinator, spec.num_processes, spec.process_id, args.local_devices
    )
    distributed.initialize(spec)

    import jax

    from . import harness

    cfg = harness.tiny_config()
    batches = harness.host_batches(cfg, args.data, args.steps)
    run = harness.build(cfg, args.data, 2, 4)
    _, losses = harness.train(run, batches)
    with open(args.out, "w") as handle:
        json.dump(
            {"losses": losses, "devices": jax.device_count(), "local": jax.local_device_count()},
            handle,
        )
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
