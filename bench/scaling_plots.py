"""Step time against catalogue size, sequence length and device count (not a test).

    flock /tmp/jaxrec_heavy.lock .venv/bin/python bench/scaling_plots.py \
        --out bench/results/scaling.json --plot docs/scaling.png

Each point is one run of bench/large_catalog.py in a fresh process (the device count is
fixed at JAX start-up): SASRec 1 block, D=64, batch 64, sampled softmax (1024 + 256), the
table row-sharded over ``model``. Defaults are sized for a 2-core CPU; pass larger grids on
real hardware.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

BENCH = pathlib.Path(__file__).with_name("large_catalog.py")


def _point(items: int, length: int, devices: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "point.json"
        command = [sys.executable, str(BENCH), "--items", str(items), "--length", str(length)]
        command += ["--devices", str(devices), "--mesh", f"1x{devices}", "--steps", str(steps)]
        subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
        result = json.loads(out.read_text())
    keys = ("items", "length", "devices", "step_s_median", "compile_s", "table_bytes_per_device")
    return {k: result[k] for k in keys}


def main() -> int:
    """Runs the three sweeps, writes JSON and a three-panel plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--lengths", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--base-items", type=int, default=100_000)
    parser.add_argument("--base-length", type=int, default=50)
    parser.add_argument("--base-devices", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--plot", default=None)
    args = parser.parse_args()
    sweeps = {
        "items": [_point(i, args.base_length, args.base_devices, args.steps) for i in args.items],
        "length": [_point(args.base_items, n, args.base_devices, args.steps) for n in args.lengths],
        "devices": [_point(args.base_items, args.base_length, d, args.steps) for d in args.devices],
    }
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(sweeps, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
        for ax, (name, points) in zip(axes, sweeps.items(), strict=True):
            ax.plot([p[name] for p in points], [p["step_s_median"] for p in points], "o-")
            ax.set_xlabel({"items": "catalogue rows", "length": "sequence length"}.get(name, name))
            ax.set_ylabel("step time (s)")
            if name == "items":
                ax.set_xscale("log")
        fig.suptitle("jaxrec step time, emulated CPU devices (bench/scaling_plots.py)")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
    print(json.dumps(sweeps, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
