"""`make bench`: synth time with and without lazy provider imports.

    python -m tools.bench_synth [--runs N]

Synthesizes all nine stacks in fresh interpreters, alternating eager
(KIRO_EAGER_PROVIDER_IMPORT=1) and lazy runs so that machine noise hits both
alike, then prints both medians and their ratio. The target is a ratio of
0.33 or less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.33


def synth_seconds(eager: bool, outdir: Path) -> float:
    environ = {k: v for k, v in os.environ.items() if k not in ("ENV", "KIRO_EAGER_PROVIDER_IMPORT")}
    environ["CDKTF_OUTDIR"] = str(outdir)
    environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if eager:
        environ["KIRO_EAGER_PROVIDER_IMPORT"] = "1"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=environ, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"synth failed ({'eager' if eager else 'lazy'}):\n{result.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (default 3)")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"eager": [], "lazy": []}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            for kind in ("eager", "lazy") if run % 2 == 0 else ("lazy", "eager"):
                seconds = synth_seconds(kind == "eager", Path(scratch) / f"{kind}-{run}")
                times[kind].append(seconds)
                print(f"run {run + 1}/{args.runs} {kind:5s} {seconds:6.2f} s", flush=True)
    eager, lazy = statistics.median(times["eager"]), statistics.median(times["lazy"])
    ratio = lazy / eager
    print(f"median eager (all ~2,200 provider submodules): {eager:.2f} s")
    print(f"median lazy  (only the submodules used):       {lazy:.2f} s")
    print(f"ratio lazy/eager: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
