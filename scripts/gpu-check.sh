#!/usr/bin/env bash
# Trains the seed CNN (onnx-models/specs/mnist_cnn.json) through the CLI and through a training job of the API, serves
# batched inference from the trained model, and prints samples/s: on the CPU always, then on CUDA (plain and with CUDA
# graphs) when the machine has a GPU, next to the H200 figures of DESIGN.md §3. On CUDA it profiles a step and fails
# when the step graph copies tensors between host and device (Memcpy nodes: carried state would cross the bus).
#
#   scripts/gpu-check.sh            in the repository: builds the CLI and the API, runs the CPU part
#                                   (and the CUDA part when this machine has CUDA and a -p:UseCuda=true build exists)
#   scripts/gpu-check.sh --pack     also publishes a self-contained CUDA bundle (as ../shared/gpu/pack.sh does) into
#                                   .gpu/: app/ with both programs, this script, the spec and fashion-mnist; .gpu/part.*
#   app/gpu-check.sh                on the GPU machine (no .NET), after `cat part.* | xz -d | tar -x`
#
# Environment: SAMPLES (training samples, default 8192 on CPU, 60000 on CUDA), EPOCHS (2), BATCH (64),
# INFER_SECONDS (5), INFER_CLIENTS (32), PORT (5791), WORK (a temporary directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
EPOCHS=${EPOCHS:-2}; BATCH=${BATCH:-64}; INFER_SECONDS=${INFER_SECONDS:-5}; INFER_CLIENTS=${INFER_CLIENTS:-32}; PORT=${PORT:-5791}
WORK=${WORK:-$(mktemp -d /tmp/gpu-check.XXXXXX)}; mkdir -p "$WORK"
log() { echo "gpu-check: $*" >&2; }
die() { echo "gpu-check: FAIL: $*" >&2; exit 1; }

if [[ -x "$here/neural" && -x "$here/NeuralService.Api" ]]; then
  # The unpacked bundle: everything sits next to this script.
  mode=bundle; bin=$here; spec=$here/mnist_cnn.json; py=$here/gpu-check.py; idx=$here/fashion-mnist
  [[ -f $here/ld-library-path.txt ]] && export LD_LIBRARY_PATH="$(cat "$here/ld-library-path.txt")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  mode=repo; root=$(git -C "$here" rev-parse --show-toplevel); cd "$root"
  spec=$root/onnx-models/specs/mnist_cnn.json; py=$root/scripts/gpu-check.py; idx=/usr/share/datasets/fashion-mnist
  if [[ ${1:-} == --pack ]]; then
    log "publishing a self-contained linux-x64 CUDA build of the CLI and the API into .gpu/app"
    mkdir -p .git/info; grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> "$(git rev-parse --git-path info/exclude)"
    rm -rf .gpu && mkdir -p .gpu
    for p in src/Cli/Cli.csproj src/Api/Api.csproj; do
      dotnet publish "$p" -c Release -r linux-x64 --self-contained -p:UseCuda=true -o .gpu/app >/dev/null
    done
    rm -f .gpu/app/libonnxruntime_providers_tensorrt.so
    test -f .gpu/app/libonnxruntime_providers_cuda.so || die "no libonnxruntime_providers_cuda.so in the build: UseCuda=true must reference Microsoft.ML.OnnxRuntime.Gpu.Linux"
    cp scripts/gpu-check.sh scripts/gpu-check.py "$spec" .gpu/app/
    [[ -f ../shared/gpu/ld-library-path.txt ]] && cp ../shared/gpu/ld-library-path.txt .gpu/app/
    if [[ -d $idx ]]; then mkdir -p .gpu/app/fashion-mnist && cp "$idx"/train-*.gz .gpu/app/fashion-mnist/; fi
    tar -C .gpu -cf - app | xz -T2 -6 | split -b 56M -d -a 1 - .gpu/part.
    ls -la .gpu/part.* | awk '{print $5, $9}'
    log "on the GPU machine: cat part.* | xz -d -T8 | tar -x && app/gpu-check.sh"
  fi
  log "building the CLI and the API (CPU build)"
  dotnet build src/Cli/Cli.csproj -c Release 2>&1 | grep -E "error|Warn|Elapsed" | tail -3
  dotnet build src/Api/Api.csproj -c Release 2>&1 | grep -E "error|Warn|Elapsed" | tail -3
  bin=$WORK/bin; mkdir -p "$bin"
  ln -sf "$root/src/Cli/bin/Release/net10.0/neural" "$bin/neural"
  ln -sf "$root/src/Api/bin/Release/net10.0/NeuralService.Api" "$bin/NeuralService.Api"
fi
command -v python3 >/dev/null || die "python3 is needed (data preparation, job and inference clients)"

cuda=no; why="no NVIDIA GPU (nvidia-smi)"
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  if [[ -f $(dirname "$(readlink -f "$bin/neural")")/libonnxruntime_providers_cuda.so ]]; then cuda=yes
  else why="a GPU, but this build has no CUDA provider (build with scripts/gpu-check.sh --pack and run app/gpu-check.sh)"; fi
fi

declare -a rows
row() { rows+=("$(printf '%-34s %-14s %12s   %s' "$1" "$2" "$3" "$4")"); }
api_pid=
stop_api() { if [[ -n $api_pid ]]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; api_pid=; fi; }
trap stop_api EXIT

start_api() { # $1 = use CUDA for serving (true/false)
  stop_api
  rm -rf "$WORK/api-data"
  "$bin/NeuralService.Api" --urls "http://127.0.0.1:$PORT" --Neural:DataDirectory "$WORK/api-data" --Neural:UseCuda "$1" \
    --Neural:RateLimit:PermitLimit 100000000 --Neural:Batcher:MaxBatchSize 256 >"$WORK/api-$1.log" 2>&1 &
  api_pid=$!
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/v2/health/live" >/dev/null 2>&1 && return 0
    kill -0 "$api_pid" 2>/dev/null || { tail -20 "$WORK/api-$1.log" >&2; die "the API did not start"; }
    sleep 1
  done
  die "the API did not answer within 120 s"
}

upload() { # the training data as a dataset of the API; prints its id
  curl -sf -F "file=@$1" -F "name=gpu-check" "http://127.0.0.1:$PORT/v1/datasets" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# One device: CLI training (samples/s of its last epoch), the same as an API job, then served inference of the job's model.
part() { # $1 = device name (cpu, cuda, cuda+graphs), $2 = data npz, $3 = dataset id in the API
  local dev=$1 tag=${1//+/-} out rate
  out=$WORK/cli-$tag
  log "[$dev] CLI: neural train mnist_cnn.json --device $dev ($EPOCHS epochs, batch $BATCH)"
  "$bin/neural" train "$spec" --data "$2" --epochs "$EPOCHS" --batch-size "$BATCH" --device "$dev" --out "$out" --overwrite \
    >"$out.log" 2>&1 || { tail -20 "$out.log" >&2; die "[$dev] CLI training failed"; }
  rate=$(python3 "$py" steprate "$out.log" "$BATCH")
  row "CLI train, last epoch" "$dev" "$rate" "$(tail -1 "$out.log" | sed 's/^wrote [^ ]* //')"
  if [[ $dev != cpu ]]; then
    log "[$dev] profiling one short epoch"
    rm -rf "$WORK/profile-$tag"; mkdir -p "$WORK/profile-$tag"
    NEURAL_ORT_PROFILE=$WORK/profile-$tag/ort "$bin/neural" train "$spec" --data "$2" --limit $((BATCH * 20)) --epochs 1 \
      --batch-size "$BATCH" --device "$dev" --out "$WORK/cli-prof-$tag" --overwrite >"$WORK/profile-$tag.log" 2>&1 \
      || { tail -20 "$WORK/profile-$tag.log" >&2; die "[$dev] profiled run failed"; }
    python3 "$py" profile "$WORK/profile-$tag" || die "[$dev] host<->device copies in the step (profiles in $WORK/profile-$tag)"
  fi
  log "[$dev] API training job"
  local job
  job=$(python3 "$py" job "http://127.0.0.1:$PORT" "$spec" "$3" "$dev" "gpu-check-$tag" "$EPOCHS" "$BATCH") || die "[$dev] training job failed"
  row "API job, last epoch" "$dev" "${job%% *}" "job device: ${job#* }"
  log "[$dev] batched inference: $INFER_CLIENTS clients of single-sample requests for $INFER_SECONDS s"
  rate=$(python3 "$py" infer "http://127.0.0.1:$PORT" "gpu-check-$tag" "$INFER_SECONDS" "$INFER_CLIENTS") || die "[$dev] inference failed"
  row "served inference (batched)" "$serving" "$rate" "model trained on $dev"
}

log "work directory $WORK ($mode mode)"
python3 "$py" data "$WORK/cpu.npz" "${SAMPLES:-8192}" "$idx" >&2
serving=cpu
start_api false
part cpu "$WORK/cpu.npz" "$(upload "$WORK/cpu.npz")"

if [[ $cuda == yes ]]; then
  nvidia-smi -L >&2
  python3 "$py" data "$WORK/cuda.npz" "${SAMPLES:-60000}" "$idx" >&2
  serving=cuda
  start_api true
  ds=$(upload "$WORK/cuda.npz")
  part cuda "$WORK/cuda.npz" "$ds"
  part cuda+graphs "$WORK/cuda.npz" "$ds"
fi
stop_api

echo
printf '%-34s %-14s %12s   %s\n' "what" "device" "samples/s" "note"
printf '%s\n' "${rows[@]}"
cat <<REF

Reference (../shared/DESIGN.md §3, seed CNN, batch 64, samples/s): train step H200 plain 31,000–50,800, H200 CUDA graph
103,000 (PyTorch eager 21,600, CUDA graph 149,000); 2-core dev CPU 2,400–2,650. Inference batch 64: H200 351,000 plain,
744,000 CUDA graph; 2-core CPU 35,000. CLI/job figures include the data path; served figures include HTTP and JSON.
REF
if [[ $cuda == no ]]; then
  echo "gpu-check: no CUDA here ($why): GPU part skipped; the CPU part passed"
fi
