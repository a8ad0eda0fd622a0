#!/usr/bin/env bash
# A real MPI farm training on this machine's GPU(s), stopped with SIGTERM mid-way and resumed:
#
#     bash benchmarks/gpu_farm_check.sh [CLIENTS] [WORKDIR]      # defaults: 2 clients, a temporary folder
#
# A server and CLIENTS clients (sharing the GPUs by local rank) train full-size NASBench-101 networks
# (stem 128, 3 x 3 modules, batch 256) for 2 epochs on a synthetic folder in the CIFAR-10 batch format
# (accuracies mean nothing; the mechanics and the speed are what is checked). Budget 8: SIGTERM to
# mpiexec once 3 results are logged, then `run_server.py --resume`. Prints the server's line for each
# client (its device and GPU model) and a JSON summary; exits non-zero unless the run ends with 8 unique
# cells, none failed, every one trained on CUDA. DEVICE=cpu TINY=1 runs the same on a CPU.
set -euo pipefail
CLIENTS=${1:-2}
W=${2:-$(mktemp -d)}
DEVICE=${DEVICE:-auto}
cd "$(dirname "$0")/.."
[ -e "$W/run" ] && { echo "gpu_farm_check.sh: $W/run exists: give a new WORKDIR" >&2; exit 2; }
mkdir -p "$W"
if [ -n "${TINY:-}" ]; then
  NET="--epochs 1 --batch-size 32 --stem-channels 8 --stacks 1 --modules-per-stack 1 --eval-batch-size 64"; PER=256
else
  NET="--epochs 2 --batch-size 256"; PER=4096
fi
python -c "from workers import cifar; cifar.write_synthetic('$W/cifar', per_batch=$PER, test=512)"
CLIENT="python run_client.py --evaluator train --cifar $W/cifar --validation-size 1024 $NET --device $DEVICE"
T0=$(date +%s)
mpiexec -disable-auto-cleanup -n 1 python run_server.py --space nasbench101 --evaluator train --algo alphax \
    --seed 0 --validation-size 1024 $NET --progress log --budget 8 --out "$W/run" : -n "$CLIENTS" $CLIENT \
    > "$W/first.log" 2>&1 &
JOB=$!
trap 'kill -TERM $JOB 2>/dev/null || true' EXIT
n=0
for _ in $(seq 1 1200); do
  n=$( { cat "$W/run/results.jsonl" 2>/dev/null || true; } | wc -l)
  [ "$n" -ge 3 ] && break
  kill -0 $JOB 2>/dev/null || break
  sleep 0.5
done
echo "SIGTERM to mpiexec with $n results logged, after $(( $(date +%s) - T0 )) s"
kill -TERM $JOB 2>/dev/null || true
wait $JOB && code=0 || code=$?
echo "first job: exit $code (143: stopped by SIGTERM)"
mpiexec -disable-auto-cleanup -n 1 python run_server.py --resume "$W/run" --progress log --stats "$W/stats.json" \
    : -n "$CLIENTS" $CLIENT > "$W/second.log" 2>&1 || { tail -20 "$W/second.log"; exit 1; }
echo "resumed job: exit 0; $(( $(date +%s) - T0 )) s in all; logs and run folder in $W"
tail -3 "$W/second.log"
grep -hE "ready on|same GPU" "$W/run/log.txt" | sed 's/^/server log: /'    # each client's device, model, sharing
python - "$W/run/results.jsonl" "${TINY:+cpu}" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
hashes = {r["hash"] for r in rows}
failed = [r for r in rows if r.get("error") is not None]
devices = sorted({r["info"].get("device") for r in rows if r.get("info")})
models = sorted({str(r["info"].get("device_name")) for r in rows if r.get("info")})
speed = [round(r["info"]["steady_images_per_second"]) for r in rows if r["info"].get("steady_images_per_second")]
print(json.dumps({"rows": len(rows), "unique": len(hashes), "failed": len(failed), "devices": devices, "models": models,
                  "workers": sorted({r.get("worker") for r in rows}), "steady_images_per_second": speed}))
cuda = sys.argv[2] == "cpu" or all(d.startswith("cuda") for d in devices)
sys.exit(0 if len(rows) == len(hashes) == 8 and not failed and cuda else 1)
PY
