"""``make bench`` (``.venv-bench/bin/python -m bench``): measure, print one summary, write it to a file.

Order: load the models in process (to build request bodies from their cards),
then, one server at a time, the tutorial-style app and the service beside the
framework floor, under the repository's gunicorn config with 2 sync workers, each
driven by wrk for ``--seconds`` per case; then the service three times more (as
configured, without ``preload_app``, with no model) for memory after the floor's
kind of load; MLServer when installed; ``--starts`` starts to ready; then the
in-process floors and the 1M-item catalog. Nothing else should run meanwhile:
other busy processes are listed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from importlib import metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bodies, inprocess, memory, mlserver, parts, procs, records, report, wrk
from bench.catalog import synthetic

DEFAULT_OUT = procs.ROOT / "bench" / "results"
NO_PRELOAD_CONF = procs.ROOT / "bench" / "gunicorn_nopreload.conf.py"
PLAIN_CONF = procs.ROOT / "bench" / "gunicorn_plain.conf.py"
MODES = report.MODES
#: What a fresh interpreter pays before the service does anything of its own (report: start-up).
STARTUP_IMPORTS = {"python alone": "pass", "import sklearn": "import sklearn.base",
                   "import the app (no model loaded)": "import mlservice.app"}


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    run_dir = Path(tempfile.mkdtemp(prefix="mlservice-bench-"))
    try:
        results = run(args, run_dir)
    finally:
        if args.keep:
            print(f"run directory kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)  # the measurements first: a report that fails loses none
    (args.out / "latest.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = summary(results)
    print(text)
    (args.out / "latest.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out / 'latest.txt'} and latest.json")
    return 0


def run(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    wrk.ensure_wrk()
    app, models = _load(args.models_config, run_dir)
    cases = _cases(models, run_dir)
    settings = vars(args) | {"out": str(args.out), "models_config": str(args.models_config),
                             "mlserver": mlserver.version(args.mlserver) if args.mlserver else None}
    results: dict[str, Any] = {"machine": machine(), "settings": settings}
    results["busy_before"] = procs.busy_processes({os.getpid()})
    results["loadavg_before"] = os.getloadavg()
    http, ready, mem = _servers(args, cases, run_dir, models)
    if args.mlserver:
        d_http, results["mlserver"] = _mlserver(args, models, run_dir)
        http += d_http
    mem["models_kib"] = memory.models_kib(args.models_config, run_dir)
    _step(f"service as configured: time to ready over {args.starts} starts")
    ready["starts"] = _starts(args, run_dir)
    _step("start-up floors: fresh interpreters importing what the service needs")
    ready["imports"] = {label: procs.import_seconds(statement) for label, statement in STARTUP_IMPORTS.items()}
    _step("in-process floors")
    results.update(http=http, ready=ready, memory=mem, inprocess=_floors(models, args.catalog_items))
    _step("in-process parts of a request")
    results["parts"] = parts.parts(app, models, {name: cases[name] for name in ("risk", "diagnose")})
    results["loadavg_after"] = os.getloadavg()
    results["checks"] = [vars(c) | {"passed": c.passed} for c in report.checks(results)]
    return results


def _servers(args: argparse.Namespace, cases: dict[str, Any], run_dir: Path,
             models: dict[str, Any]) -> tuple[list, dict, dict]:
    """One server at a time: the tutorial-style app, the floor beside the service, then the
    service again (as configured, without preload, with no model)."""
    env = _service_env(args, run_dir)
    log = run_dir / "servers.log"
    http, ready, mem = [], {}, {}
    with procs.serve("tutorial", "bench.apps.tutorial:app", log, {"BENCH_TUTORIAL_SPEC": str(cases["spec"])},
                     config=PLAIN_CONF) as server:
        http += _measure_cases(server, cases, args)
    # The floor stays up beside the service and runs just before each of its single-row cases:
    # the machine's speed drifts by 10 to 20 % within minutes, and each c/a uses its own pair.
    with procs.serve("floor", "bench.apps.floor:app", log, {}, config=PLAIN_CONF) as floor, \
            procs.serve("service", "wsgi:app", log, env) as server:
        ready["current"] = server.ready_seconds
        http += _paired(floor, server, "healthz", cases["empty"], args)
        mem["floor"] = memory.server_memory(floor)
        http += _measure_cases(server, cases, args, (*ROW_CASES, *COLUMN_CASES, FILTERED), floor=floor, models=models)
        mem["after every case"] = memory.server_memory(server)
    http += _records_pairs(env, cases, args, log, run_dir)
    http += _monitoring_pair(env, cases, args, log)
    # Memory compared like with like: a fresh server after the same single-row load as the floor's;
    # "no models" is the same service with an empty models config (its /risk answers 503).
    empty = run_dir / "no-models.toml"
    empty.write_text("")
    no_models = {**env, "MLSERVICE_MODELS_CONFIG": str(empty), "MLSERVICE_MODELS_STATE_DIR": str(run_dir / "state-empty")}
    for mode, config, environ in (("current", procs.GUNICORN_CONF, env), ("nopreload", NO_PRELOAD_CONF, env),
                                  ("no models", procs.GUNICORN_CONF, no_models)):
        probe = "/healthz" if mode == "no models" else "/readyz"  # with no model, never ready by design
        with procs.serve("service", "wsgi:app", log, environ, config=config, ready_path=probe) as server:
            _step(f"service, {MODES[mode]}: time to ready, and memory after a single-row load")
            if mode != "no models":
                ready[f"{mode}, again" if mode in ready else mode] = server.ready_seconds
            _measure(server, "risk", cases["risk"][1], 1, args)
            mem[mode] = memory.server_memory(server)
    return http, ready, mem


def _mlserver(args: argparse.Namespace, models: dict[str, Any], run_dir: Path) -> tuple[list, dict[str, float]]:
    """(d): MLServer's runs of its cases; its time to ready, and how far its answers on the
    golden rows are from the card's."""
    cases = {case: mlserver.bodies(models[case], run_dir) for case in mlserver.CASES}
    with mlserver.serve(args.mlserver, models, run_dir / "mlserver", run_dir / "mlserver.log") as server:
        gap = max(mlserver.golden_gap(server, models[case]) for case in mlserver.CASES)
        runs = _measure_cases(server, cases, args, names=mlserver.CASES)
        with procs.serve("service", "wsgi:app", run_dir / "servers.log", _service_env(args, run_dir)) as service:
            for case in mlserver.CASES:
                for rows, body in cases[case].items():
                    theirs, ours = _alternating(server, service, case, body, args, rows, second_case=f"v2/{case}")
                    runs += [theirs | {"case": f"{case} (V2, paired)"}, ours]
    return runs, {"ready_seconds": server.ready_seconds, "golden_gap": gap}


def _service_env(args: argparse.Namespace, run_dir: Path) -> dict[str, str]:
    """The service as shipped (decision records on), its state and records inside the run's folder."""
    return {"MLSERVICE_MODELS_CONFIG": str(args.models_config), "MLSERVICE_MODELS_STATE_DIR": str(run_dir / "state"),
            "MLSERVICE_DECISIONS_URL": f"sqlite:///{run_dir / 'service-records.sqlite3'}",
            "MLSERVICE_DECISIONS_SPOOL_DIR": str(run_dir / "service-spool")}


def _starts(args: argparse.Namespace, run_dir: Path) -> list[float]:
    """Seconds to the first /readyz 200 over ``args.starts`` fresh starts: one cold start is a
    noisy sample on a shared VM (one start differs from the next by up to 0.7 s): the median is the figure."""
    seconds = []
    for _ in range(args.starts):
        with procs.serve("service", "wsgi:app", run_dir / "starts.log", _service_env(args, run_dir)) as server:
            seconds.append(server.ready_seconds)
    return seconds


def _step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk run per case (default 8)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4: 2 per worker)")
    parser.add_argument("--models-config", type=Path, default=procs.ROOT / "configs" / "models.toml")
    parser.add_argument("--catalog-items", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=5, help="starts timed to ready (default 5; the median is checked)")
    parser.add_argument("--mlserver", type=Path, default=None,
                        help="(d) the mlserver executable to compare with (default: .venv-mlserver's, when present)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where latest.txt and latest.json go")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (server logs)")
    args = parser.parse_args(argv)
    args.models_config = args.models_config.resolve()
    named, args.mlserver = args.mlserver, mlserver.find(args.mlserver)
    if named is not None and args.mlserver is None:
        parser.error(f"--mlserver {named}: not an executable file")
    return args


def _load(models_config: Path, run_dir: Path) -> tuple[Any, dict[str, Any]]:
    """An app and its verified models, loaded the way the service loads them; stop if any is refused."""
    from mlservice import create_app

    app = create_app({"MODELS_CONFIG": str(models_config), "MODELS_POLL_SECONDS": 0, "MODELS_STATE_DIR": str(run_dir)})
    registry = app.extensions["model_registry"]
    if registry.failures:
        reasons = "; ".join(f"{n}: {f.reason}" for n, f in registry.failures.items())
        sys.exit(f"bench: {models_config} does not load: {reasons}")
    return app, {name: d.default for name, d in registry.deployments.items()}


def _cases(models: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    cases: dict[str, Any] = {name: bodies.classifier_bodies(models[name], run_dir) for name in ("risk", "diagnose")}
    for name in ("risk", "diagnose"):
        cases[f"{name}/columns"] = {1000: bodies.columns_body(models[name], run_dir)}
    cases["recommend"] = {1: bodies.recommend_body(models["recommend"], run_dir)}
    cases[FILTERED] = {1: bodies.recommend_body(models["recommend"], run_dir, ranked=True)}
    cases["spec"] = bodies.tutorial_spec(models, run_dir)
    cases["empty"] = run_dir / "empty.json"
    cases["empty"].write_bytes(b"")
    return cases


ROW_CASES = ("risk", "diagnose", "recommend")
COLUMN_CASES = ("risk/columns", "diagnose/columns")  # this service only: the tutorial app has no such format
#: This service only: the same known users with a filter, so each request is ranked instead of read
#: from the table made at load (the tutorial app has no filters).
FILTERED = "recommend, filtered"


def _measure_cases(server: procs.Server, cases: dict[str, Any], args: argparse.Namespace,
                   names: tuple[str, ...] = ROW_CASES, floor: procs.Server | None = None,
                   models: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Each case's every batch size; with ``floor``, single rows come paired with a floor run, and with
    ``models``, 1,000-row batches with scikit-learn in this process."""
    out = []
    for case in names:
        for rows, body in cases[case].items():
            if floor is not None and rows == 1:
                out += _paired(floor, server, case, body, args)
                continue
            if models is not None and rows == inprocess.BATCH:
                out.append(_paired_in_process(server, case, body, models[report.use_case(case)], args))
                continue
            _step(f"{server.name}: {case}, {rows} row(s) per request")
            out.append(_measure(server, case, body, rows, args))
    return out


#: A paired case alternates floor and service this many times, each for --seconds / PAIR_SLICES.
PAIR_SLICES = 4


def _paired(floor: procs.Server, server: procs.Server, case: str, body: Path,
            args: argparse.Namespace) -> list[dict[str, Any]]:
    """The framework floor and ``case`` on the service in alternating slices: the pair a c/a
    ratio compares, both seeing the same drift of the machine's speed."""
    _step(f"framework floor and {server.name}, alternating: {case}, 1 row per request")
    seconds = args.seconds / PAIR_SLICES
    slices: dict[str, list[dict[str, Any]]] = {"floor": [], case: []}
    for target, name in ((floor, "floor"), (server, case)):
        _warm_up(target, name, body, 1, args)
    for _ in range(PAIR_SLICES):
        for target, name in ((floor, "floor"), (server, case)):
            slices[name].append(_measure(target, name, body, 1, args, seconds=seconds, warm_up=False))
    return [_combined(slices["floor"]) | {"pair": case}, _combined(slices[case])]


def _records_pairs(env: dict[str, str], cases: dict[str, Any], args: argparse.Namespace, log: Path,
                   run_dir: Path) -> list[dict[str, Any]]:
    """Decision records' cost (bench/records.py): the same service with recording off and on, alternating on
    /risk single rows and on 1,000-row batches; each "on" run says what its recorder spent per record."""
    off_env = {**env, "MLSERVICE_DECISIONS_ENABLED": "false"}
    out = []
    with procs.serve("records off", "wsgi:app", log, off_env) as off, \
            procs.serve("records on", "wsgi:app", log, records.on_env(env, run_dir)) as on:
        recorder = records.recorder_pid(on)
        for rows in (1, 1000):
            settle, waits = records.settler(on.spool)
            cpu, before = procs.cpu_seconds(recorder) if recorder else 0.0, records.written(run_dir)
            off_run, on_run = _alternating(off, on, "risk", cases["risk"][rows], args, rows, after_second=settle)
            spent = (procs.cpu_seconds(recorder) - cpu) if recorder else 0.0
            out += [off_run, records.summary(on_run, spent, records.written(run_dir) - before, waits)]
    records.remove_store(run_dir)  # a million records' dirty pages, written back during the next cases, cost them CPU
    return out


def _monitoring_pair(env: dict[str, str], cases: dict[str, Any], args: argparse.Namespace,
                     log: Path) -> list[dict[str, Any]]:
    """Monitoring's cost: the same service with monitoring off and on (its default), alternating on
    /risk single rows, records off in both."""
    env = {**env, "MLSERVICE_DECISIONS_ENABLED": "false"}  # the records' pairs measure those
    off_env = {**env, "MLSERVICE_MONITORING_ENABLED": "false"}
    with procs.serve("monitoring off", "wsgi:app", log, off_env) as off, \
            procs.serve("monitoring on", "wsgi:app", log, env) as on:
        return _alternating(off, on, "risk", cases["risk"][1], args)


def _alternating(first: procs.Server, second: procs.Server, case: str, body: Path,
                 args: argparse.Namespace, rows: int = 1, second_case: str | None = None,
                 after_second: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """Two servers on the same body in alternating slices, so their ratio sees one machine speed
    (``second_case``: the second server's name for the case, when its path differs; ``after_second``:
    what to wait for after the warm-up and after each of the second server's slices, untimed)."""
    _step(f"{first.name} and {second.name}, alternating: {case}, {rows} row(s) per request")
    pairs = ((first, case), (second, second_case or case))
    slices: list[list[dict[str, Any]]] = [[], []]
    for target, its_case in pairs:
        _warm_up(target, its_case, body, rows, args)
    if after_second is not None:
        after_second()
    for _ in range(PAIR_SLICES):
        for (target, its_case), runs in zip(pairs, slices):
            runs.append(_measure(target, its_case, body, rows, args, seconds=args.seconds / PAIR_SLICES, warm_up=False))
        if after_second is not None:
            after_second()
    return [_combined(runs) for runs in slices]


#: Seconds of in-process scikit-learn after each slice of a 1,000-row case.
IN_PROCESS_SLICE = 0.5


def _paired_in_process(server: procs.Server, case: str, body: Path, model: Any,
                       args: argparse.Namespace) -> dict[str, Any]:
    """A 1,000-row ``case`` in slices alternating with the pipeline's ``predict_proba`` on the same
    rows in this process (the server idle meanwhile): the pair a "vs in-process scikit-learn" ratio
    compares, both seeing the same drift of the machine's speed, as ``_paired`` does for c/a."""
    _step(f"{server.name} and in-process scikit-learn, alternating: {case}, {inprocess.BATCH} rows per request")
    _warm_up(server, case, body, inprocess.BATCH, args)
    slices, rates = [], []
    for _ in range(PAIR_SLICES):
        slices.append(_measure(server, case, body, inprocess.BATCH, args, seconds=args.seconds / PAIR_SLICES,
                               warm_up=False))
        rates.append(inprocess.sklearn_rows_per_s(model, IN_PROCESS_SLICE))
    return _combined(slices) | {"sklearn_rows_s": sum(rates) / len(rates)}


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Slices of one case as one run: totals over totals; p50 and p99 the mean of the slices'."""
    requests, seconds = sum(p["requests"] for p in parts), sum(p["seconds"] for p in parts)
    cpu, other = sum(p["cpu_s"] for p in parts), sum(p["other_cpu_pct"] * p["seconds"] for p in parts)
    rate = requests / seconds
    return parts[0] | {"req_s": rate, "rows_s": rate * parts[0]["rows"], "requests": requests, "seconds": seconds,
                       "p50_ms": sum(p["p50_ms"] for p in parts) / len(parts),
                       "p99_ms": sum(p["p99_ms"] for p in parts) / len(parts),
                       "errors": sum(p["errors"] for p in parts), "cpu_s": cpu,
                       "cpu_ms_per_req": cpu / max(requests, 1) * 1000, "other_cpu_pct": other / seconds}


def _measure(server: procs.Server, case: str, body: Path, rows: int, args: argparse.Namespace,
             seconds: float | None = None, warm_up: bool = True) -> dict[str, Any]:
    """A 1-second warm-up (every worker), then the timed run with CPU read from /proc around it."""
    if warm_up:
        _warm_up(server, case, body, rows, args)
    url, method = _target(server, case, rows)
    before = server.cpu_seconds(), _own_seconds(), procs.machine_busy_seconds()
    load = wrk.run(url, body, seconds or args.seconds, args.connections, method=method)
    after = server.cpu_seconds(), _own_seconds(), procs.machine_busy_seconds()
    cpu, own, busy = (now - then for now, then in zip(after, before))
    if server.spool is not None and server.name != "records on":  # that pair reports its own waits
        records.settle_spool(server.spool)  # the recorder's deferred work, untimed (bench/records.py)
    return {"server": server.name, "case": case, "rows": rows, "req_s": load.rate, "rows_s": load.rate * rows,
            "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "errors": load.errors, "requests": load.requests,
            "seconds": load.seconds, "cpu_s": cpu, "cpu_ms_per_req": cpu / max(load.requests, 1) * 1000,
            "other_cpu_pct": max(busy - cpu - own, 0.0) / load.seconds * 100}


def _warm_up(server: procs.Server, case: str, body: Path, rows: int, args: argparse.Namespace) -> None:
    """One untimed second of ``case``, so that every worker has served it before the clock starts."""
    url, method = _target(server, case, rows)
    wrk.run(url, body, 1, args.connections, method=method)
    if server.spool is not None:
        records.settle_spool(server.spool)


def _target(server: procs.Server, case: str, rows: int) -> tuple[str, str]:
    """(URL, method) of a case: the floor answers anything; more than one row goes to ``/batch``;
    MLServer takes any number of rows at its V2 inference path."""
    if server.name == "mlserver":
        return server.url + mlserver.infer_path(case), "POST"
    if case == FILTERED:
        return server.url + "/recommend", "POST"
    if case.startswith("v2/"):
        return server.url + mlserver.infer_path(case.removeprefix("v2/")), "POST"
    path = "/" if case == "floor" else f"/{case}" + ("/batch" if rows > 1 and "/" not in case else "")
    return server.url + path, "GET" if case == "healthz" else "POST"


def _own_seconds() -> float:
    """CPU of this process and its finished children (wrk)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _floors(models: dict[str, Any], catalog_items: int) -> dict[str, Any]:
    floors: dict[str, Any] = {name: inprocess.classifier(models[name]) for name in ("risk", "diagnose")}
    movielens = models["recommend"].estimator
    _step(f"building a synthetic catalog of {catalog_items:,} items")
    start = time.perf_counter()
    catalog = synthetic(n_items=catalog_items, n_neighbors=movielens.n_neighbors)
    built = time.perf_counter() - start
    floors["recommend"] = {
        "movielens_items": movielens.n_items, "movielens_us": inprocess.top10(movielens, inprocess.queries(movielens)),
        "catalog_items": catalog.n_items, "catalog_us": inprocess.top10(catalog, inprocess.queries(catalog)),
        "catalog_build_s": built,
    }
    return floors


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    packages = ("flask", "flask-smorest", "marshmallow", "gunicorn", "numpy", "scikit-learn", "orjson")
    versions = {p: metadata.version(p) for p in packages}
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "kernel": platform.release(), "versions": versions}


def summary(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"mlservice bench, {time.strftime('%Y-%m-%d %H:%M')}: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, "
             f"Python {m['python']}; gunicorn 2 sync workers (deploy/gunicorn.conf.py, max_requests off), "
             f"wrk {results['settings']['connections']} connections, {results['settings']['seconds']:g} s per case",
             f"load average before {_load_avg(results['loadavg_before'])}, after {_load_avg(results['loadavg_after'])}; "
             f"other busy processes before: {', '.join(results['busy_before']) or 'none'}", "",
             "HTTP (a = framework floor, run alternately with each single-row case of the service, 4 slices each; "
             "c/a compares that pair; p50, p99: the mean of the slices'; s = scikit-learn's predict_proba on the "
             "same 1,000 rows in the harness's process, run alternately with each 1,000-row case of the service "
             "(4 slices, 0.5 s each; c/s: rows/s over its rows/s); c/b and c/d of a /columns case compare it with b's and "
             "d's 1,000-row batch of the same rows; b = "
             "tutorial-style app; c = this service; d = "
             + (f"MLServer {results['settings']['mlserver']} (scikit-learn runtime, V2 protocol, parallel_workers 0; "
                f"ready {results['mlserver']['ready_seconds']:.2f} s after its start; its P(class 1) on the card's "
                f"golden rows differs from the card's by {results['mlserver']['golden_gap']:.1e} at most)"
                if results["settings"].get("mlserver") else "MLServer, not installed (make bench-mlserver)")
             + "; others' CPU: % of one core used by other processes during the run, "
             "0 on a quiet machine)", *report.http_table(results["http"]), "",
             "In process", *report.floors_table(results["inprocess"]), "",
             "In process, the parts of one request (µs per request)", *report.parts_table(results["parts"]), "",
             "Memory and start-up", *report.memory_table(results["memory"], results["ready"]), "",
             "Decision records on against off (/risk; the recorder's CPU, at the lowest priority, over the pair; "
             "settle: how long after each 'on' slice its records were all in the store)",
             *report.records_table(results["http"]), "",
             "Targets"]
    lines += [report.Check(**{k: v for k, v in c.items() if k != "passed"}).line() for c in results["checks"]]
    return "\n".join(lines)


def _load_avg(values: Any) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
