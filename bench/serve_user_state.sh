#!/usr/bin/env bash
# Before/after the last-position user_state (issue 7): model latency and Ray direct-ingress load,
# jax and onnx, in one lock hold on one machine.
#   git archive <commit before the change> | tar -x -C /tmp/before
#   flock /tmp/jaxrec_heavy.lock bash bench/serve_user_state.sh /tmp/before \
#       OLD_ONNX OLD_JAX NEW_ONNX NEW_JAX
# "before" runs the old tree's code (PYTHONPATH) on exports it wrote; "after" this tree's.
# Env: N (requests per "after" run, 20000), N_BEFORE (10000), C (16), OUT, MAML_JAX (optional:
# a MAML jax export, also served with adaptation on and off).
set -u
BEFORE=$1; OLD_ONNX=$2; OLD_JAX=$3; NEW_ONNX=$4; NEW_JAX=$5
N=${N:-20000}; N_BEFORE=${N_BEFORE:-10000}; C=${C:-16}; OUT=${OUT:-bench/results/serve_user_state}
REPO=$(pwd); PY=$REPO/.venv/bin/python; PORT=8400
mkdir -p "$OUT"
export JAX_PLATFORMS=cpu

wait_ready() {  # port
  for _ in $(seq 180); do
    curl -sf -m 2 "http://127.0.0.1:$1/readyz" && { echo; return 0; }; sleep 1
  done
  echo "server on $1 never became ready" >&2; return 1
}
start() {  # label src-tree args... ; sets SERVER
  local label=$1 src=$2; shift 2
  (cd "$src" && PYTHONPATH=$src $PY -m jaxrec.cli serve --port $PORT "$@") \
    >"$OUT/$label.server.log" 2>&1 &
  SERVER=$!
  wait_ready $PORT
}
stop() {
  kill -TERM "$SERVER"
  for _ in $(seq 90); do kill -0 "$SERVER" 2>/dev/null || break; sleep 1; done
  kill -0 "$SERVER" 2>/dev/null && { echo "forced kill" >&2; kill -9 "$SERVER"; }
  wait "$SERVER"; sleep 2
}
load() {  # label requests
  $PY bench/serve_load.py --url "http://127.0.0.1:$PORT" --label "$1" --client raw \
    --concurrency "$C" --requests "$2" --out "$OUT/$1.json" | tail -c 400; echo
}
model() {  # label src-tree export backend
  (cd "$2" && PYTHONPATH=$2 $PY "$REPO/bench/serve_model_latency.py" --model "$3" \
    --backend "$4" --num-threads 1 --batches 1,8,16,32 --seconds 1.5 \
    --out "$REPO/$OUT/$1.json") | tail -c 300; echo
}

date -u; nproc; uptime
model model_jax_before "$BEFORE" "$OLD_JAX" jax
model model_jax_after "$REPO" "$NEW_JAX" jax
model model_onnx_before "$BEFORE" "$OLD_ONNX" onnx
model model_onnx_after "$REPO" "$NEW_ONNX" onnx

start ray_direct_jax_before "$BEFORE" --model "$OLD_JAX" --backend jax --throughput-optimized
load ray_direct_jax_before "$N_BEFORE"; stop
start ray_direct_jax_after "$REPO" --model "$NEW_JAX" --backend jax --throughput-optimized
load ray_direct_jax_after "$N"; stop
start ray_direct_onnx_before "$BEFORE" --model "$OLD_ONNX" --backend onnx --num-threads 1 \
  --throughput-optimized
load ray_direct_onnx_before "$N_BEFORE"; stop
start ray_direct_onnx_after "$REPO" --model "$NEW_ONNX" --backend onnx --num-threads 1 \
  --throughput-optimized
load ray_direct_onnx_after "$N"; stop

if [ -n "${MAML_JAX:-}" ]; then  # the same load mix (1-50 items): <= 10 items adapt
  start ray_direct_maml_adapt "$REPO" --model "$MAML_JAX" --backend jax --throughput-optimized
  load ray_direct_maml_adapt "$N_BEFORE"; stop
fi
date -u; uptime
