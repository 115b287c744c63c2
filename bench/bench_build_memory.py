"""Peak memory of ``python -m indoor build`` at two data-set sizes, and the per-image slope between them.

    python bench/bench_build_memory.py --data SMALL_ROOT --data LARGE_ROOT --out /tmp/stream [--repo DIR]

Each build runs as its own process under ``/usr/bin/time -v`` (``--repo``: the checkout whose ``indoor`` runs,
e.g. a clone of an older commit, to compare before/after) with ``--image-size 160 --quiet --shortcut-tests 0
--region-crops 0`` unless ``--build-args`` says otherwise. Reported per build:

* ``max_rss_mb``: /usr/bin/time's "Maximum resident set size" of the build's main process (the largest process
  of the tree; DataLoader workers are separate processes and smaller). It counts the touched pages of
  memory-mapped files too (clean, file-backed: the kernel can drop them under pressure, anonymous memory it
  cannot);
* ``peak_anon_mb`` / ``peak_file_mb``: the largest ``RssAnon`` / ``RssFile`` of the main process seen by polling
  ``/proc/PID/status`` every 0.2 s (a lower bound of the true peaks);
* wall time and the load average before and after.

The slope is (large - small) / (N_large - N_small), in KB per image. One JSON line per build and a summary go to
stdout and to ``--out``/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_build(repo: Path, data: Path, out: Path, build_args: list[str]) -> dict:
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "indoor", "build", "--data", str(data), "--out", str(out),
               "--force", *build_args]
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(repo)}
    load_before = os.getloadavg()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peaks = {"RssAnon": 0, "RssFile": 0}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            for child in _children(process.pid):  # time's child: the python build
                values = _status_kb(child)
                for key in peaks:
                    peaks[key] = max(peaks[key], values.get(key, 0))
            time.sleep(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate()
    done.set()
    watcher.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"build of {data} failed ({process.returncode}):\n{stdout[-2000:]}\n{stderr[-4000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    meta = json.loads((out / "meta.json").read_text())
    return {
        "data": str(data), "repo": str(repo), "n_images": meta["n_samples"], "classes": len(meta["classes"]),
        "max_rss_mb": round(int(match.group(1)) / 1024, 1) if match else None,
        "peak_anon_mb": round(peaks["RssAnon"] / 1024, 1), "peak_file_mb": round(peaks["RssFile"] / 1024, 1),
        "wall_s": round(wall, 1), "timings": meta.get("timings"),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="a data root (give two for a slope)")
    parser.add_argument("--out", required=True, help="folder for the caches and memory.json")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]), help="checkout to run")
    parser.add_argument("--label", default="", help="a name for this run in memory.json")
    parser.add_argument("--build-args", default="--image-size 160 --quiet --shortcut-tests 0 --region-crops 0")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for i, data in enumerate(args.data):
        result = run_build(Path(args.repo).resolve(), Path(data), out / f"cache{i}", args.build_args.split())
        result["label"] = args.label
        print(json.dumps(result), flush=True)
        results.append(result)
    summary = {"label": args.label, "builds": results}
    if len(results) >= 2:
        small, large = sorted(results, key=lambda r: r["n_images"])[:: len(results) - 1]
        dn = large["n_images"] - small["n_images"]
        for key in ("max_rss_mb", "peak_anon_mb", "peak_file_mb"):
            if small[key] is not None and large[key] is not None and dn:
                summary[f"slope_{key[:-3]}_kb_per_image"] = round((large[key] - small[key]) * 1024 / dn, 2)
        print(json.dumps({k: v for k, v in summary.items() if k != "builds"}), flush=True)
    with open(out / "memory.json", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
