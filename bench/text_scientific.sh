#!/usr/bin/env bash
# Text-aware SASRec on amazon_scientific_unisrec (configs/sasrec_text.py): trains each
# NAME:ITEM_REPR:DATA_DIR run for at most MINUTES under ONE acquisition of the shared heavy
# lock (2-core CPU shared by 5 sessions), then evaluates valid and test without it
# (~20 s each) into bench/results/text_NAME_{valid,test}.json and prints a summary.
# Usage: bench/text_scientific.sh MINUTES NAME:REPR:DATA [...] [-- --set extra=overrides]
set -euo pipefail
minutes=$1
shift
runs=()
while [[ $# -gt 0 && $1 != "--" ]]; do runs+=("$1"); shift; done
[[ ${1:-} == "--" ]] && shift
mkdir -p bench/results runs/text
train_all() {
  for spec in "${runs[@]}"; do
    IFS=: read -r name repr data <<< "$spec"
    .venv/bin/jaxrec train --config configs/sasrec_text.py --data "$data" \
      --workdir "runs/text/$name" --max-minutes "$minutes" --set model.item_repr="$repr" "$@" \
      > "runs/text/$name.train.json" 2> "runs/text/$name.train.log"
  done
}
export -f train_all
export minutes
flock /tmp/jaxrec_heavy.lock bash -c "$(declare -p runs); train_all $*"
for spec in "${runs[@]}"; do
  IFS=: read -r name repr data <<< "$spec"
  for split in valid test; do
    .venv/bin/jaxrec evaluate --workdir "runs/text/$name" --split "$split" \
      --out "bench/results/text_${name}_${split}.json" > /dev/null 2>&1
  done
  python3 - "$name" <<'PY'
import json, sys
name = sys.argv[1]
text = open(f"runs/text/{name}.train.json").read()  # progress lines, then the summary
train = json.loads(text[text.index("\n{") + 1 :] if not text.startswith("{") else text)
print(name, "steps=%d train_s=%.0f best_valid=%.4f" % (
    train["steps"], train["train_seconds"], train["best_valid_ndcg@10"]))
for split in ("valid", "test"):
    r = json.load(open(f"bench/results/text_{name}_{split}.json"))
    cold = r.get("cold_items")
    extra = ""
    if cold and cold["num_events"]:  # valid has no cold events by construction
        extra = "cold hr@10=%.4f ndcg@10=%.4f n=%d random hr=%.4f mostpop hr=%.4f" % (
            cold["hr@10"], cold["ndcg@10"], cold["num_events"], cold["random"]["hr@10"],
            cold["mostpop"]["hr@10"])
    print(" ", split, "ndcg@10=%.4f hr@10=%.4f" % (r["ndcg@10"], r["hr@10"]), extra)
PY
done
