#!/usr/bin/env bash
# Serving benchmark: plain uvicorn vs Ray Serve (onnx, jax), then 2x overload and recovery.
#   flock /tmp/jaxrec_heavy.lock bash bench/serve_compare.sh EXPORT_ONNX EXPORT_JAX
# Env: N (requests per run, 20000), C (client concurrency, 16), OUT (bench/results/serve),
#      CLIENT (httpx | raw: bench/serve_load.py's client), SKIP_MODEL=1 (no model-only probe).
set -u
ONNX=$1; JAX=$2
N=${N:-20000}; C=${C:-16}; OUT=${OUT:-bench/results/serve}; CLIENT=${CLIENT:-httpx}
N_JAX=${N_JAX:-$N}
PY=.venv/bin/python; PORT=8400
mkdir -p "$OUT"
export JAX_PLATFORMS=cpu

wait_ready() {  # port
  for _ in $(seq 150); do
    curl -sf -m 2 "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 1
  done
  echo "server on $1 never became ready" >&2; return 1
}
load() {  # label port extra-args...
  local label=$1 port=$2; shift 2
  $PY bench/serve_load.py --url "http://127.0.0.1:$port" --label "$label" --client "$CLIENT" \
    --out "$OUT/$label.json" "$@" | tail -c 600; echo
}
start() {  # label port args... ; sets SERVER
  local label=$1 port=$2; shift 2
  .venv/bin/jaxrec serve --port "$port" "$@" >"$OUT/$label.server.log" 2>&1 &
  SERVER=$!
  wait_ready "$port"
}
stop() {  # SIGTERM, then up to 90 s for Serve/Ray to shut down, then SIGKILL
  kill -TERM "$SERVER"
  for _ in $(seq 90); do kill -0 "$SERVER" 2>/dev/null || break; sleep 1; done
  kill -0 "$SERVER" 2>/dev/null && { echo "forced kill" >&2; kill -9 "$SERVER"; }
  wait "$SERVER"; sleep 2
}

date; nproc; uptime
for t in $([ "${SKIP_MODEL:-0}" = 1 ] || echo 1 2); do
  $PY bench/serve_model_latency.py --model "$ONNX" --backend onnx --num-threads $t \
    --out "$OUT/model_onnx_t$t.json" | tail -c 400; echo
done
[ "${SKIP_MODEL:-0}" = 1 ] || $PY bench/serve_model_latency.py --model "$JAX" --backend jax \
  --out "$OUT/model_jax.json" | tail -c 400; echo

# 1. plain in-process baseline: the same FastAPI app, one uvicorn process, asyncio batcher
start plain_onnx $PORT --model "$ONNX" --backend onnx --no-ray --num-threads 1
load plain_onnx $PORT --concurrency "$C" --requests "$N"
load plain_healthz $PORT --concurrency "$C" --requests 5000 --get /healthz
stop

# 2. Ray Serve, default ingress (HTTP proxy actor -> replica)
start ray_proxy_onnx $PORT --model "$ONNX" --backend onnx --num-threads 1
load ray_proxy_onnx $PORT --concurrency "$C" --requests "${N_PROXY:-5000}"
stop

# 3. Ray Serve, throughput-optimized (direct ingress: the replica serves HTTP on PORT)
start ray_direct_onnx $PORT --model "$ONNX" --backend onnx --num-threads 1 --throughput-optimized
load ray_direct_onnx $PORT --concurrency "$C" --requests "$N"
RATE=$($PY -c "import json; print(2 * json.load(open('$OUT/ray_direct_onnx.json'))['throughput_rps'])")
# 4. 2x overload (open loop at twice the measured rate for ~10 s), then recovery
load ray_direct_onnx_overload $PORT --rate "$RATE" --concurrency 512 \
  --requests "$($PY -c "print(int($RATE * 10))")" --warmup 0
load ray_direct_onnx_recovery $PORT --concurrency "$C" --requests 3000 --warmup 0
load ray_direct_healthz $PORT --concurrency "$C" --requests 5000 --get /healthz
stop

# 5. Ray Serve direct ingress, jax (XLA) backend
start ray_direct_jax $PORT --model "$JAX" --backend jax --throughput-optimized
load ray_direct_jax $PORT --concurrency "$C" --requests "$N_JAX"
stop
date
