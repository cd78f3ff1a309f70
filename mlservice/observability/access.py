"""What each request leaves behind: its id in the response, a metrics sample and one log line."""
from __future__ import annotations

import time

from flask import Response, g, request

from mlservice.observability import logs, metrics, request_id


def start() -> None:
    """Before the view: start the clock."""
    g.started = time.perf_counter()
    g.request_id = request_id.from_headers(request.headers)  # the same id in the log, the response and a record


def finish(response: Response) -> Response:
    """After the view (errors included): count, log, and return the id to the client."""
    req, ctx = request._get_current_object(), g._get_current_object()  # one proxy lookup each
    seconds = time.perf_counter() - ctx.get("started", time.perf_counter())
    rid = ctx.get("request_id") or request_id.from_headers(req.headers)
    endpoint = req.url_rule.rule if req.url_rule else metrics.UNMATCHED
    method = metrics.method_label(req.method)
    metrics.record_request(endpoint, method, response.status_code, seconds)
    fields = {"request_id": rid, "method": method, "endpoint": endpoint,
              "status": response.status_code, "latency_ms": round(seconds * 1000, 3),
              "remote_addr": req.remote_addr}
    if ctx.get("api_key_id"):
        fields["caller"] = ctx.api_key_id  # the key's id (mlservice.auth), never the key
    answered = prediction(response)
    if answered:
        name, version, rows = answered
        metrics.record_prediction(name, version, rows)
        fields.update(model=name, model_version=version, rows=rows)
    logs.access(**fields)
    response.headers[request_id.HEADER] = rid
    return response


def prediction(response: Response) -> tuple[str, str, int] | None:
    """``(model, version, rows)`` of a successful prediction, as ``registry.routing.run_routed`` noted it.

    Only the ref and a row count are kept, never the values.
    """
    if response.status_code != 200:
        return None
    return g.get("prediction")
