"""Load test for the jaxrec HTTP server (async httpx client).

Fixed concurrency (C workers, each sends its next request when the last one answered):
    python bench/serve_load.py --url http://127.0.0.1:8000 --concurrency 16 --requests 20000 \
        --out bench/results/serve_x.json
Fixed rate (open loop; requests start every 1/R s whatever the answers do, at most C in flight
from this client; over that, the request is counted as an error ``client_saturated``):
    python bench/serve_load.py --url ... --rate 600 --concurrency 256 --requests 6000 --out ...

Writes JSON with throughput_rps, p50_ms, p95_ms, p99_ms, errors (any non-200 answer, timeout or
transport error), and per-status counts plus the latency of the non-200 answers (how fast the
server sheds load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import random
import resource
import time
import types
import urllib.parse
from collections import Counter

import httpx
import numpy as np


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--rate", type=float, default=None, help="fixed-rate mode: requests/s")
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("--warmup", type=int, default=200, help="unrecorded requests first")
    p.add_argument("--num-items", type=int, default=3416, help="ids 1..N are sent")
    p.add_argument("--items", type=pathlib.Path, default=None, help="items.jsonl (raw_id)")
    p.add_argument("--history-len", type=int, default=50, help="longest history sent")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--token", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", default="")
    p.add_argument("--client", choices=("httpx", "raw"), default="httpx")
    p.add_argument("--get", default=None, help="GET this path instead (HTTP-stack ceiling)")
    p.add_argument(
        "--timeline",
        type=pathlib.Path,
        default=None,
        help="also write one JSON line per measured request: start_s, latency_ms, status",
    )
    return p


def make_bodies(args) -> list[bytes]:
    """A fixed pool of request bodies (random histories of known item ids)."""
    rng = random.Random(args.seed)
    if args.items is not None:
        with open(args.items) as f:
            ids = [json.loads(line)["raw_id"] for line in f if line.strip()]
    else:
        ids = [str(i) for i in range(1, args.num_items + 1)]
    bodies = []
    for _ in range(1024):
        hist = rng.choices(ids, k=rng.randint(1, args.history_len))
        bodies.append(json.dumps({"history": hist, "k": args.k}).encode())
    return bodies


class Recorder:
    """Latencies of 200 answers and of everything else, by outcome."""

    def __init__(self):
        self.ok: list[float] = []
        self.bad: list[float] = []
        self.codes: Counter = Counter()
        self.events: list[tuple[float, float, str]] = []  # (start s, latency ms, status)


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams (``--client raw``).

    httpx costs 2.5-4 ms of CPU per request here, so on 2 cores it, not the server, is the
    bottleneck; this client costs a fraction of that. Same interface as the httpx calls above
    (``post``/``get`` -> object with ``status_code``); a pool of up to ``limit`` connections.
    """

    def __init__(self, base_url: str, limit: int, timeout: float):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.timeout = timeout
        self.idle: list = []

    async def post(self, url, content, headers):
        return await self._request("POST", url, content, headers)

    async def get(self, url, headers):
        return await self._request("GET", url, b"", headers)

    async def _request(self, method, url, body, headers):
        try:
            conn = self.idle.pop() if self.idle else await self._connect()
        except (OSError, TimeoutError) as err:
            raise httpx.ConnectError(str(err)) from err
        path = urllib.parse.urlsplit(url).path
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k != "content-type")
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: {self.host}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
        )
        try:
            status, keep = await asyncio.wait_for(
                self._exchange(conn, head.encode() + body), self.timeout
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as err:
            conn[1].close()
            raise (
                httpx.TimeoutException("timeout")
                if isinstance(err, TimeoutError)
                else httpx.TransportError(str(err))
            ) from err
        if keep:
            self.idle.append(conn)
        else:
            conn[1].close()
        return types.SimpleNamespace(status_code=status)

    async def _connect(self):
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)

    @staticmethod
    async def _exchange(conn, data):
        reader, writer = conn
        writer.write(data)
        status = int((await reader.readline()).split()[1])
        length, chunked, keep = 0, False, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep = False
        if chunked:
            while size := int((await reader.readline()).strip(), 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        return status, keep

    async def aclose(self):
        for _, writer in self.idle:
            writer.close()


async def _one(client, url, body, rec: Recorder | None, headers) -> None:
    start = time.perf_counter()
    try:
        if body is None:
            resp = await client.get(url, headers=headers)
        else:
            resp = await client.post(url, content=body, headers=headers)
        code = str(resp.status_code)
    except httpx.TimeoutException:
        code = "timeout"
    except httpx.HTTPError as err:
        code = type(err).__name__
    if rec is None:
        return
    elapsed = (time.perf_counter() - start) * 1e3
    rec.codes[code] += 1
    rec.events.append((start, elapsed, code))
    (rec.ok if code == "200" else rec.bad).append(elapsed)


async def fixed_concurrency(client, url, bodies, n, conc, rec, headers) -> None:
    """C workers share a counter of ``n`` requests."""
    counter = iter(range(n))

    async def worker():
        for i in counter:
            await _one(client, url, bodies[i % len(bodies)], rec, headers)

    await asyncio.gather(*(worker() for _ in range(conc)))


async def fixed_rate(client, url, bodies, n, rate, conc, rec, headers) -> None:
    """Starts request i at ``t0 + i / rate``; at most ``conc`` outstanding."""
    sem = asyncio.Semaphore(conc)
    tasks = []
    t0 = time.perf_counter()

    async def guarded(body):
        try:
            await _one(client, url, body, rec, headers)
        finally:
            sem.release()

    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if sem.locked():
            rec.codes["client_saturated"] += 1
            rec.events.append((time.perf_counter(), 0.0, "client_saturated"))
            continue
        await sem.acquire()
        tasks.append(asyncio.create_task(guarded(bodies[i % len(bodies)])))
    await asyncio.gather(*tasks)


def cpu_times() -> tuple[float, float, float]:
    """(this process's CPU seconds, machine busy jiffies, machine total jiffies)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return usage.ru_utime + usage.ru_stime, sum(fields) - idle, sum(fields)


def summarise(rec: Recorder, wall: float, args, cpu0, cpu1) -> dict:
    """The JSON report."""
    ok = np.asarray(rec.ok) if rec.ok else np.asarray([np.nan])
    bad = np.asarray(rec.bad) if rec.bad else None
    total = sum(rec.codes.values())
    return {
        "label": args.label,
        "url": args.url,
        "mode": "fixed_rate" if args.rate else "fixed_concurrency",
        "concurrency": args.concurrency,
        "target_rate_rps": args.rate,
        "requests": total,
        "duration_s": round(wall, 3),
        "throughput_rps": round(len(rec.ok) / wall, 1),
        "offered_rps": round(total / wall, 1),
        "p50_ms": round(float(np.percentile(ok, 50)), 2),
        "p95_ms": round(float(np.percentile(ok, 95)), 2),
        "p99_ms": round(float(np.percentile(ok, 99)), 2),
        "max_ms": round(float(np.max(ok)), 2),
        "errors": total - rec.codes.get("200", 0),
        "status_counts": dict(rec.codes),
        "error_p50_ms": None if bad is None else round(float(np.percentile(bad, 50)), 2),
        "error_p99_ms": None if bad is None else round(float(np.percentile(bad, 99)), 2),
        "client_cpu_s": round(cpu1[0] - cpu0[0], 2),
        "machine_cpu_busy": round((cpu1[1] - cpu0[1]) / max(cpu1[2] - cpu0[2], 1), 3),
        "cores": os.cpu_count(),
        "client": args.client,
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


async def run(args) -> dict:
    """Warm-up, then the measured run."""
    bodies = make_bodies(args) if args.get is None else [None]
    url = args.url.rstrip("/") + (args.get or "/v1/recommend")
    headers = {"content-type": "application/json"}
    if args.token:
        headers["authorization"] = f"Bearer {args.token}"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    if args.client == "raw":
        client = RawClient(args.url, args.concurrency, args.timeout)
        try:
            return await _measure(client, url, bodies, headers, args)
        finally:
            await client.aclose()
    async with httpx.AsyncClient(limits=limits, timeout=args.timeout) as client:
        return await _measure(client, url, bodies, headers, args)


async def _measure(client, url, bodies, headers, args) -> dict:
    """Warm-up, then the measured run, with one client."""
    warm = Recorder()
    await fixed_concurrency(
        client, url, bodies, args.warmup, min(args.concurrency, 8), warm, headers
    )
    rec = Recorder()
    cpu0 = cpu_times()
    start = time.perf_counter()
    if args.rate:
        await fixed_rate(
            client, url, bodies, args.requests, args.rate, args.concurrency, rec, headers
        )
    else:
        await fixed_concurrency(client, url, bodies, args.requests, args.concurrency, rec, headers)
    wall = time.perf_counter() - start
    if args.timeline is not None:
        write_timeline(args.timeline, rec, start)
    return summarise(rec, wall, args, cpu0, cpu_times())


def write_timeline(path: pathlib.Path, rec: Recorder, start: float) -> None:
    """One JSON line per measured request, in start order (written atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for t, latency, code in sorted(rec.events):
            row = {"start_s": round(t - start, 6), "latency_ms": round(latency, 3), "status": code}
            f.write(json.dumps(row) + "\n")
    tmp.replace(path)


def main() -> None:
    args = _parser().parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
