"""A tutorial-style app serving the same artifacts: model at import, ``request.get_json``,
``predict_proba`` on an array of the rows. No validation, no explanations, no metrics.

``BENCH_TUTORIAL_SPEC`` names a JSON file written by the harness: per use case the
artifact path and the request fields in the model's column order.
"""
import json
import os

import joblib
import numpy as np
from flask import Flask, jsonify, request

SPEC = json.loads(open(os.environ["BENCH_TUTORIAL_SPEC"], encoding="utf-8").read())
MODELS = {name: joblib.load(entry["artifact"]) for name, entry in SPEC.items()}

app = Flask(__name__)


def _probabilities(name, records):
    rows = [[r.get(f) for f in SPEC[name]["fields"]] for r in records]
    return MODELS[name].predict_proba(np.array(rows, dtype=object))[:, 1]


@app.post("/<name>")
def predict(name):
    if name == "recommend":
        body = request.get_json()
        items, scores = MODELS[name].recommend_for_user(body["user_id"], body.get("k", 10))
        return jsonify({"items": [{"id": int(i), "score": float(s)} for i, s in zip(items, scores)]})
    p = _probabilities(name, [request.get_json()])[0]
    return jsonify({"probability": float(p)})


@app.post("/<name>/batch")
def predict_batch(name):
    return jsonify({"results": [{"probability": float(p)} for p in _probabilities(name, request.get_json()["rows"])]})


@app.get("/readyz")
def ready():
    return jsonify({"status": "ready"})
