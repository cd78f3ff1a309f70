"""The targets of issue #7, checked against one run's figures, and the tables that show them."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

#: gunicorn configurations whose memory and start-up the harness measures; only the
#: first is the service as deployed, and only it is checked against the targets.
MODES = {"current": "as configured, preload_app", "nopreload": "without preload_app (bench/gunicorn_nopreload.conf.py)",
         "no models": "as configured, with an empty models config"}


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    higher_is_better: bool
    unit: str = "x"

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.name}: {self.value:.2f}{self.unit} (target {sign} {self.limit:g}{self.unit})"


def find(http: list[dict[str, Any]], server: str, case: str, rows: int = 1) -> dict[str, Any]:
    return next(r for r in http if r["server"] == server and r["case"] == case and r["rows"] == rows)


def floor_of(http: list[dict[str, Any]], case: str) -> dict[str, Any] | None:
    """The floor run paired with the service's single-row ``case`` (alternating with it), if it has one."""
    return next((r for r in http if r["server"] == "floor" and r.get("pair") == case), None)


def use_case(case: str) -> str:
    """The use case of a harness case: ``diagnose`` for ``diagnose`` and ``diagnose/columns``."""
    return case.split("/")[0]


def vs_sklearn(run: dict[str, Any]) -> float:
    """A 1,000-row run's rows/s over the pipeline's in process, measured alternately with it."""
    return run["rows_s"] / run["sklearn_rows_s"]


def checks(results: dict[str, Any]) -> list[Check]:
    http, floors, memory = results["http"], results["inprocess"], results["memory"]
    out = []
    for case in ("risk", "diagnose"):
        service, tutorial, floor = find(http, "service", case), find(http, "tutorial", case), floor_of(http, case)
        out += [
            Check(f"/{case} single row vs tutorial (c/b req/s)", service["req_s"] / tutorial["req_s"], 3.0, True),
            Check(f"/{case} single row vs floor (c/a req/s)", service["req_s"] / floor["req_s"], 0.6, True),
            Check(f"/{case} single row p99 vs floor p99", service["p99_ms"] / floor["p99_ms"], 2.0, False),
            Check(f"/{case}/batch 1000 rows/s vs in-process scikit-learn (alternating with it)",
                  vs_sklearn(find(http, "service", case, 1000)), 0.5, True),
            Check(f"/{case}/columns 1000 rows/s vs in-process scikit-learn (alternating with it)",
                  vs_sklearn(find(http, "service", f"{case}/columns", 1000)), 0.5, True),
        ]
    recommend = floors["recommend"]
    out += [
        Check("/recommend top-10 vs floor (c/a req/s)",
              find(http, "service", "recommend")["req_s"] / floor_of(http, "recommend")["req_s"], 0.5, True),
        Check("1M-item catalog top-10 cost vs MovieLens", recommend["catalog_us"] / recommend["movielens_us"], 20.0, False),
    ]
    for rows, target in ((1, 2.0), (1000, 1.0)):
        ours = next((r for r in http if (r["server"], r["case"], r["rows"]) == ("service", "v2/diagnose", rows)), None)
        theirs = next((r for r in http if (r["server"], r["case"], r["rows"]) == ("mlserver", "diagnose (V2, paired)", rows)),
                      None)
        if ours and theirs:
            out.append(Check(f"/v2 diagnose vs MLServer, the same V2 request, {rows} row(s) (rows/s, alternating)",
                             ours["rows_s"] / theirs["rows_s"], target, True))
    on, off = find(http, "records on", "risk"), find(http, "records off", "risk")
    out.append(Check("/risk single row with decision records on vs off (req/s, alternating)",
                     on["req_s"] / off["req_s"], 0.95, True))
    on, off = find(http, "monitoring on", "risk"), find(http, "monitoring off", "risk")
    out.append(Check("/risk single row with monitoring on vs off (req/s, alternating)",
                     on["req_s"] / off["req_s"], 0.95, True))
    added, without = memory["current"]["added_per_worker_kib"], memory["no models"]["added_per_worker_kib"]
    out += [
        Check("memory an extra worker adds, less the same service's with no model loaded / models' memory",
              max(added - without, 0) / memory["models_kib"], 0.2, False),
        Check(f"ready after process start (median of {len(results['ready']['starts'])} starts)",
              statistics.median(results["ready"]["starts"]), 2.0, False, " s"),
    ]
    return out


def records_table(http: list[dict[str, Any]]) -> list[str]:
    lines = [_row("rows/req", "off req/s", "on req/s", "on/off", "p99 ms off, on", "records", "recorder µs/record",
                  "settle s"), _row(*["---"] * 8)]
    for on in (r for r in http if r["server"] == "records on"):
        off = find(http, "records off", on["case"], on["rows"])
        lines.append(_row(on["rows"], f"{off['req_s']:,.0f}", f"{on['req_s']:,.0f}", f"{on['req_s'] / off['req_s']:.3f}",
                          f"{off['p99_ms']:.1f}, {on['p99_ms']:.1f}", f"{on['records_written']:,}",
                          f"{on['recorder_us_per_record']:.1f}", f"{on['settle_s']:.2f}"))
    return lines


def http_table(http: list[dict[str, Any]]) -> list[str]:
    lines = [_row("server", "case", "rows/req", "req/s", "rows/s", "p50 ms", "p99 ms", "errors", "CPU ms/req", "c/a", "c/b",
                  "c/d", "c/s", "others' CPU %"), _row(*["---"] * 14)]
    for r in http:
        ratio_a = ratio_b = ratio_d = ratio_s = ""
        if r["server"] == "service":
            ratio_b, ratio_d = _ratio(http, r, "tutorial"), _ratio(http, r, "mlserver")
            floor = floor_of(http, r["case"]) if r["rows"] == 1 else None
            ratio_a = f"{r['req_s'] / floor['req_s']:.2f}" if floor else ""
            ratio_s = f"{vs_sklearn(r):.2f}" if "sklearn_rows_s" in r else ""
        case = f"paired with {r['pair']}" if r.get("pair") else r["case"]
        lines.append(_row(r["server"], case, r["rows"], f"{r['req_s']:.0f}", f"{r['rows_s']:.0f}",
                          f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", r["errors"], f"{r['cpu_ms_per_req']:.3f}",
                          ratio_a, ratio_b, ratio_d, ratio_s, f"{r['other_cpu_pct']:.0f}"))
    return lines


def _ratio(http: list[dict[str, Any]], run: dict[str, Any], other: str) -> str:
    """``run``'s req/s over ``other`` server's on the same rows (a columnar case against the
    other's batch of its use case: the same rows, each server in its own batch format);
    blank if it has none."""
    case = use_case(run["case"])
    same = [t for t in http if t["server"] == other and (t["case"], t["rows"]) == (case, run["rows"])]
    return f"{run['req_s'] / same[0]['req_s']:.2f}" if same else ""


def floors_table(floors: dict[str, Any]) -> list[str]:
    lines = [_row("model", "sklearn 1 row µs", "NumPy 1 row µs", "served 1 row µs (with contributions)",
                  "sklearn rows/s (1000)", "NumPy rows/s", "served rows/s", "fast path"), _row(*["---"] * 8)]
    for name in ("risk", "diagnose"):
        f = floors[name]
        lines.append(_row(name, f"{f['sklearn_one_us']:.1f}", f"{f['numpy_one_us']:.1f}", f"{f['served_one_us']:.1f}",
                          f"{f['sklearn_rows_per_s']:.0f}", f"{f['numpy_rows_per_s']:.0f}",
                          f"{f['served_rows_per_s']:.0f}", "yes" if f["fast_path"] else "no"))
    r = floors["recommend"]
    lines += ["", f"recommend top-10, in process: MovieLens ({r['movielens_items']} items) {r['movielens_us']:.0f} µs, "
              f"synthetic catalog ({r['catalog_items']} items) {r['catalog_us']:.0f} µs "
              f"(built in {r['catalog_build_s']:.0f} s)"]
    return lines


def memory_table(memory: dict[str, Any], ready: dict[str, float]) -> list[str]:
    lines = [f"loaded models' memory (RSS growth when loading them in one process): {memory['models_kib'] / 1024:.1f} MiB", "",
             "an extra worker adds its private memory (its shared pages are counted once already); floor, current, "
             "nopreload and no models (an empty models config): a fresh server after a single-row load; "
             "'after every case': the service after the "
             "whole HTTP run, 1,000-row requests included (its heap's high-water mark, not the models)", "",
             _row("gunicorn", "process", "PSS MiB", "RSS MiB", "private MiB"), _row(*["---"] * 5)]
    for mode in ("floor", *MODES, "after every case"):
        for proc in memory.get(mode, {}).get("processes", []):
            mib = [f"{proc[k] / 1024:.1f}" for k in ("pss", "rss", "uss")]
            lines.append(_row(mode, proc["role"], *mib))
    added = {mode: memory[mode]["added_per_worker_kib"] / 1024 for mode in ("floor", *MODES, "after every case")
             if mode in memory}
    lines += ["", "an extra worker adds (private MiB, and / models' memory): "
              + ", ".join(f"{mode} {mib:.1f} ({mib * 1024 / memory['models_kib']:.2f}x)" for mode, mib in added.items()),
              "ready (first /readyz 200) after process start: "
              + ", ".join(f"{mode} {seconds:.2f} s" for mode, seconds in ready.items() if mode not in ("imports", "starts"))]
    if "starts" in ready:
        lines.append(f"ready over {len(ready['starts'])} more starts of the service as configured: median "
                     f"{statistics.median(ready['starts']):.2f} s (" + ", ".join(f"{s:.2f}" for s in ready["starts"]) + ")")
    if "imports" in ready:
        lines.append("of which no server escapes (a fresh interpreter, median of 3): "
                     + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in ready["imports"].items()))
    return lines


def parts_table(parts: dict[str, dict[str, float]]) -> list[str]:
    columns = list(parts)
    names = list(next(iter(parts.values())))
    lines = [_row("part", *columns), _row(*["---"] * (len(columns) + 1))]
    return lines + [_row(name, *(f"{parts[c][name]:.0f}" for c in columns)) for name in names]


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"
