#!/usr/bin/env python3
"""Helpers of scripts/gpu-check.sh (standard library only: the GPU machine's python may lack numpy).

  data OUT.npz N [IDX_DIR]    fashion-mnist's first N training samples (IDX .gz files in IDX_DIR), else N generated
                              28x28 uint8 images whose class is drawn in them; writes x (N,28,28,1) uint8, y (N,) int64
  steprate LOG BATCH          samples/s of the last epoch from a `neural train` progress log ("... 12ms/step ...")
  profile DIR                 checks ONNX Runtime profiles: exit 1 when the step session shows Memcpy nodes
  job URL SPEC DATASET DEVICE NAME EPOCHS BATCH
                              submits a training job, waits for it, prints the last epoch's samples/s
  infer URL MODEL SECONDS THREADS
                              single-sample KServe v2 requests from THREADS clients (the server batches them): samples/s
"""
import glob, gzip, io, json, os, random, re, struct, sys, threading, time, urllib.request, zipfile


def npy(array_bytes, dtype, shape):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (dtype, "".join(f"{d}, " for d in shape))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + array_bytes


def data(out, n, idx_dir=None):
    n = int(n)
    images = os.path.join(idx_dir or "", "train-images-idx3-ubyte.gz")
    labels = os.path.join(idx_dir or "", "train-labels-idx1-ubyte.gz")
    if idx_dir and os.path.exists(images) and os.path.exists(labels):
        with gzip.open(images) as f:
            _, count, rows, cols = struct.unpack(">IIII", f.read(16))
            n = min(n, count)
            x = f.read(n * rows * cols)
        with gzip.open(labels) as f:
            f.read(8)
            y = list(f.read(n))
        source = f"fashion-mnist ({n} of {count} training samples)"
    else:
        rng = random.Random(0)
        x = bytearray(n * 784)
        y = []
        for i in range(n):
            c = rng.randrange(10)
            y.append(c)
            for p in range(784):
                r, col = divmod(p, 28)
                # Class c lights a band of rows and one of columns; noise keeps it from being trivial.
                v = 200 if (r // 3 == c or col // 3 == c) else 0
                x[i * 784 + p] = max(0, min(255, v + rng.randrange(-40, 40)))
        x = bytes(x)
        source = f"generated ({n} samples: fashion-mnist not found)"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("x.npy", npy(x, "|u1", (n, 28, 28, 1)))
        z.writestr("y.npy", npy(struct.pack(f"<{n}q", *y), "<i8", (n,)))
    print(source)


def steprate(log, batch):
    text = open(log, errors="replace").read()
    rates = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|s)/step", text)
    if not rates:
        sys.exit(f"no step time in {log}")
    value, unit = rates[-1]
    seconds = float(value) * {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "s": 1.0}[unit]
    print(f"{int(batch) / seconds:.0f}")


def profile(directory):
    files = glob.glob(os.path.join(directory, "*.json"))
    if not files:
        sys.exit(f"no ONNX Runtime profile in {directory}")
    best = None
    for path in files:
        events = json.load(open(path))
        nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
        if best is None or len(nodes) > len(best[1]):
            best = (path, nodes)
    path, nodes = best
    copies = [e for e in nodes if e.get("args", {}).get("op_name", "").startswith("Memcpy")]
    providers = sorted({e.get("args", {}).get("provider", "?") for e in nodes})
    print(f"step profile {os.path.basename(path)}: {len(nodes)} kernel events on {', '.join(providers)}, {len(copies)} Memcpy")
    if copies:
        for e in copies[:10]:
            a = e.get("args", {})
            print(f"  {e['name']}: {a.get('op_name')} {a.get('input_type_shape')}")
        print("FAIL: the step copies tensors between host and device inside the graph (a node left the device, and the "
              "carried state it reads crosses the bus every step)")
        sys.exit(1)


def request(url, body=None, method=None, headers=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or ({"Content-Type": "application/json"} if data else {}))
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read() or b"null")


def job(url, spec, dataset, device, name, epochs, batch):
    body = {"model": json.load(open(spec)), "dataset": dataset, "device": device, "register_as": name,
            "compile": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
            "fit": {"epochs": int(epochs), "batch_size": int(batch)}}
    j = request(f"{url}/v1/jobs", body)
    jid = j["id"]
    while j["state"] not in ("succeeded", "failed", "canceled"):
        time.sleep(1)
        j = request(f"{url}/v1/jobs/{jid}")
    if j["state"] != "succeeded":
        sys.exit(f"job {jid} {j['state']}: {j.get('error')}")
    rate = None
    with urllib.request.urlopen(f"{url}/v1/jobs/{jid}/events", timeout=60) as r:
        kind = None
        for line in r:
            line = line.decode().strip()
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "epoch":
                rate = json.loads(line[5:]).get("samples_per_second")
            elif line.startswith("data:") and kind == "state" and json.loads(line[5:]).get("finished_at"):
                break
    print(f"{rate:.0f} {j.get('device')}" if rate else f"? {j.get('device')}")


def infer(url, model, seconds, threads):
    meta = request(f"{url}/v2/models/{model}")
    tensor = meta["inputs"][0]
    shape = [1] + [d for d in tensor["shape"][1:]]
    size = 1
    for d in shape:
        size *= d
    rng = random.Random(1)
    body = json.dumps({"inputs": [{"name": tensor["name"], "shape": shape, "datatype": tensor["datatype"],
                                   "data": [rng.randrange(256) for _ in range(size)]}]}).encode()
    done, errors, stop = [0], [0], time.time() + float(seconds)
    lock = threading.Lock()

    def client():
        while time.time() < stop:
            try:
                req = urllib.request.Request(f"{url}/v2/models/{model}/infer", data=body, headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=60).read()
                with lock:
                    done[0] += 1
            except Exception:
                with lock:
                    errors[0] += 1
    start = time.time()
    workers = [threading.Thread(target=client) for _ in range(int(threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors[0] and not done[0]:
        sys.exit(f"inference failed ({errors[0]} errors)")
    print(f"{done[0] / (time.time() - start):.0f}")


if __name__ == "__main__":
    commands = {"data": data, "steprate": steprate, "profile": profile, "job": job, "infer": infer}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
