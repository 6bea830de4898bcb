#!/usr/bin/env bash
# Closed-loop load at 8 and 12 connections (issue 7 latency target), then optional open-loop
# (fixed-rate) runs, one server per backend:
#   EXPORTS=DIR [BACKENDS="jax onnx"] [REQUESTS=20000] [CONNS="8 16"] [RATES="260"] [OUT=DIR] [SERVE_CONFIG=settings.yaml] \
#     bash bench/serve_concurrency.sh
#   (DIR/ml1m_jax, DIR/ml1m_onnx from jaxrec export)
set -u
cd "$(dirname "$0")/.."
EXPORTS=${EXPORTS:-/tmp/h7_exports}
PY=.venv/bin/python; PORT=8400; OUT=${OUT:-bench/results/serve_user_state}
export JAX_PLATFORMS=cpu
date -u; uptime
for B in ${BACKENDS:-jax onnx}; do
  extra=""; [ $B = onnx ] && extra="--num-threads 1"
  $PY -m jaxrec.cli serve --port $PORT --model "$EXPORTS/ml1m_$B" --backend $B $extra --throughput-optimized ${SERVE_CONFIG:+--config "$SERVE_CONFIG"} > "${TMPDIR:-/tmp}/serve_concurrency.$B.log" 2>&1 &
  S=$!
  for _ in $(seq 180); do curl -sf -m 2 http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 1; done
  for C in ${CONNS:-8 12}; do
    $PY bench/serve_load.py --url http://127.0.0.1:$PORT --label ray_direct_${B}_after_c$C --client raw \
      --concurrency $C --requests ${REQUESTS:-20000} --out $OUT/ray_direct_${B}_after_c$C.json | tail -c 330; echo
  done
  for R in ${RATES:-}; do
    $PY bench/serve_load.py --url http://127.0.0.1:$PORT --label ray_direct_${B}_rate$R --client raw \
      --rate $R --concurrency 64 --requests ${REQUESTS:-20000} --out $OUT/ray_direct_${B}_rate$R.json \
      --timeline "${TMPDIR:-/tmp}/ray_direct_${B}_rate$R.timeline.jsonl" | tail -c 330; echo
  done
  kill -TERM $S; for _ in $(seq 60); do kill -0 $S 2>/dev/null || break; sleep 1; done; kill -9 $S 2>/dev/null; sleep 3
done
date -u
