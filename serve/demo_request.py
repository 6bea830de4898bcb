"""Starts ``jaxrec serve`` on an export, sends one recommendation request, stops the server.

``make demo`` ends with this: proof that the trained model answers over HTTP.

    python -m serve.demo_request --model runs/demo/export [--port 8765] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from jaxrec.export.catalog import Catalog

READY_TIMEOUT_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main(argv: list[str] | None = None) -> int:
    """Returns 0 when the server answered the request with k items."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=pathlib.Path, help="export directory")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-ray", action="store_true", help="plain uvicorn instead of Ray Serve")
    args = parser.parse_args(argv)
    catalog = Catalog.load(args.model)
    history = [catalog.to_original(i) for i in range(1, min(6, catalog.num_items + 1))]
    command = [sys.executable, "-m", "jaxrec.cli", "serve", "--model", str(args.model)]
    # A fresh metrics port: a Ray agent of a server stopped seconds ago may still hold 8080.
    command += ["--port", str(args.port), "--metrics-port", str(_free_port())]
    command += ["--no-ray"] if args.no_ray else []
    base = f"http://127.0.0.1:{args.port}"
    log_path = args.model.resolve().parent / "serve_demo.log"
    log_file = log_path.open("w")
    server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    print(f"started: {' '.join(command)} (log: {log_path})")
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while _get(f"{base}/readyz") != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                print(f"the server did not become ready; its log ends:\n{tail}", file=sys.stderr)
                return 1
            time.sleep(1.0)
        body = {"history": history, "k": 5, "exclude_seen": True}
        answer = _post(f"{base}/v1/recommend", body)
        print(f"POST {base}/v1/recommend {json.dumps(body)}")
        print(json.dumps(answer, indent=2))
        return 0 if len(answer.get("items", [])) == 5 else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()


if __name__ == "__main__":
    sys.exit(main())
