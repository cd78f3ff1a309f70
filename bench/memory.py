"""Memory: the loaded models' own size, and what each gunicorn worker adds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import procs, records

#: Run in a fresh interpreter: RSS growth from loading every model, with the app and
#: the libraries the pickles need already imported.
_MODELS_SIZE = """
import gc, json, os, sys
from pathlib import Path
import sklearn.compose, sklearn.impute, sklearn.linear_model, sklearn.pipeline, sklearn.preprocessing, scipy.sparse
from mlservice import create_app
page = os.sysconf("SC_PAGE_SIZE") // 1024
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page
empty = Path(sys.argv[2]) / "empty-models.toml"
empty.write_text("")
app = create_app({"MODELS_CONFIG": str(empty), "MODELS_POLL_SECONDS": 0, "MODELS_STATE_DIR": sys.argv[2]})
registry = app.extensions["model_registry"]
gc.collect(); before = rss()
registry.config_path = Path(sys.argv[1])
registry.refresh()
gc.collect(); after = rss()
print(json.dumps({"kib": after - before, "loaded": sorted(registry.deployments)}))
"""


def models_kib(models_config: Path, run_dir: Path) -> int:
    out = subprocess.run([sys.executable, "-c", _MODELS_SIZE, str(models_config), str(run_dir)],
                         cwd=procs.ROOT, capture_output=True, text=True, timeout=300, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["kib"])


def server_memory(server: procs.Server) -> dict[str, Any]:
    """PSS, RSS and private memory of the master and each worker; a worker beyond the first
    adds its private memory (its shared pages are already counted)."""
    master, *children = server.pids()
    recorder = records.recorder_pid(server)
    workers = [{"role": f"worker {i}", **procs.memory_kib(pid)}
               for i, pid in enumerate((p for p in children if p != recorder), start=1)]
    rows = [{"role": "master", **procs.memory_kib(master)}, *workers]
    if recorder is not None:  # the host's decision recorder: one per host, not per worker
        rows.append({"role": "recorder", **procs.memory_kib(recorder)})
    return {"processes": rows, "added_per_worker_kib": max(w["uss"] for w in workers) if workers else 0}
