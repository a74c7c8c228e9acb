"""Training time on an idle machine against the same machine kept busy by another job.

    python bench/train_busy.py [--assets 200] [--seed 1007] [--search-iter 4]

The data is the largest simulated dataset the other benches use (200 assets, seed 1007).
Three trainings of the same data and seed:

1. idle, default threads (every core: ``models.parallel``);
2. busy: a second CPU-bound process spins on one core for the whole run; training starts
   once the load average shows it (as on a machine that has been busy for a while), with
   default threads (2 workers + the other job on 2 cores);
3. busy, with ``--threads 1`` (leaving the other job its core).

The figure of merit is each run's time as a ratio to the idle run, measured here in the
same invocation; every run must produce the same model (``PdmModel.digest``: every fitted
attribute).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.dataset import read_runs  # noqa: E402
from models.io import load_model  # noqa: E402
from models.parallel import available_cores  # noqa: E402
from models.train import TrainOptions, train  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402

BURN_S = 3600  # the busy process stops by itself after this, whatever happens here


def timed_train(data, out: Path, opts: TrainOptions, threads: int | None) -> float:
    chosen = threads or available_cores()
    print(f"  training with {chosen} fit(s) at a time ({'forced' if threads else 'default'}), "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    train(data, out, opts, log=lambda m: print(m, flush=True) if "%" in m else None,
          threads=threads)
    return time.perf_counter() - t0


def start_burner() -> subprocess.Popen:
    code = f"import time\nend = time.time() + {BURN_S}\nwhile time.time() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def wait_for_load(target: float, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] < target and time.monotonic() < deadline:
        time.sleep(2)
    print(f"  load average {os.getloadavg()[0]:.2f} with the other job running", flush=True)


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1007)
    ap.add_argument("--search-iter", type=int, default=4)
    ap.add_argument("--out", default="var/bench-train-busy")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_csv = out / "train.csv"
    write_dataset(data_csv, args.assets, seed=args.seed)
    data = read_runs(data_csv)
    rows = sum(len(r) for r in data.runs)
    cores = available_cores()
    print(f"{args.assets} simulated assets, {rows:,} rows; {cores} cores", flush=True)
    opts = TrainOptions(search_iter=args.search_iter, seed=0)

    print("1. idle", flush=True)
    wait_for_idle = time.monotonic() + 120
    while os.getloadavg()[0] > 0.5 and time.monotonic() < wait_for_idle:
        time.sleep(2)
    idle = timed_train(data, out / "model-idle", opts, None)
    results = [("idle, default threads", idle, out / "model-idle")]
    burner = start_burner()
    try:
        print("2. busy (another CPU-bound process), default threads", flush=True)
        wait_for_load(0.75)
        busy = timed_train(data, out / "model-busy", opts, None)
        results.append(("busy, default threads", busy, out / "model-busy"))
        print("3. busy, --threads 1", flush=True)
        one = timed_train(data, out / "model-one", opts, 1)
        results.append(("busy, --threads 1", one, out / "model-one"))
    finally:
        burner.kill()
        burner.wait()
    print(f"\n{'run':<28} {'seconds':>8} {'vs idle':>8}  model")
    for name, seconds, path in results:
        print(f"{name:<28} {seconds:8.0f} {seconds / idle:8.2f}  {load_model(path).digest()}")
    same = len({load_model(p).digest() for _, _, p in results}) == 1
    print(f"same model in every run: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    run()
