"""W&B run folders written by the real ``wandb`` package in offline mode (WANDB_MODE=offline, no
network), in a subprocess so that wandb's service process and its imports stay out of pytest's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WRITE = r"""
import json, math, sys, wandb
root = sys.argv[1]
decay = [5.0 * math.exp(-0.05 * s) + 0.5 for s in range(200)]
spiky = list(decay)
spiky[100] += 3.0
made = {}

def session(name, values, key="train/loss", start=0, run_id=None, extra=True):
    resume = "allow" if run_id else None
    run = wandb.init(project="drift-tests", name=name, id=run_id, mode="offline", dir=root, resume=resume)
    for s, v in enumerate(values, start=start):
        row = {key: v}
        if extra:
            row["lr"] = 0.1
        run.log(row, step=s)
    print("console line from", name)
    run.finish()
    return run.id

made["healthy"] = session("healthy-run", decay)
made["spiky"] = session("spiky-run", spiky, key="loss")
made["resumed"] = session("resumed-run", decay[:120], run_id="resume01")
session("resumed-run", [v - 0.001 for v in decay[100:]], start=100, run_id="resume01")
# A script that only prints its loss: W&B captures stdout into files/output.log.
run = wandb.init(project="drift-tests", name="console-run", mode="offline", dir=root)
for s, v in enumerate(decay):
    print(f"step {s} | loss {v:.6f}")
run.finish()
made["console"] = run.id
made["long"] = session("long-run", [2.0 * math.exp(-s / 2000) + 0.1 for s in range(20_000)], extra=False)
print(json.dumps(made))
"""


def write_runs(root: Path) -> dict[str, str]:
    """Write the runs under ``root/wandb``; their ids by label."""
    try:
        import wandb  # noqa: F401 - only to know whether the dev dependency is there
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("wandb is not installed; CI installs it from requirements-dev.txt")
        pytest.skip("wandb is not installed (pip install -r requirements-dev.txt)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true", WANDB_DIR=str(root))
    done = subprocess.run(
        [sys.executable, "-c", WRITE, str(root)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"writing W&B runs failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
