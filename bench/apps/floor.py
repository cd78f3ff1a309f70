"""The framework floor: Flask answering constant JSON, whatever the request.

The body is not read; routing, the response object and gunicorn's sync worker
are all that is paid.
"""
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def constant(path: str):
    return jsonify({"probability": 0.5, "label": "negative"})
