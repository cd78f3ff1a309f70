"""No feature value reaches any log: success, validation error, model failure, shadow failure.

Unique canary values go through every path; every log record the process
emits (any logger, any level) is then searched for them.
"""
from __future__ import annotations

import logging
from typing import Any

import pytest

from mlservice.scoring.classifier import ClassifierScorer
from tests.factories import APPLICANTS, PATIENTS

CANARY_NUMBER = 137.0123456789
CANARY_TEXT = "CANARY-7f3a9"
CANARY_KEY = "canary-subject-5521"
CANARIES = ("137.0123456789", CANARY_TEXT, CANARY_KEY, "8411.77", "91919")


@pytest.fixture()
def logs(caplog: Any) -> Any:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, canary


def requests_through_every_path(client: Any) -> list[int]:
    patient = {**PATIENTS[0], "glucose": CANARY_NUMBER, "patient_id": CANARY_KEY}
    applicant = {**APPLICANTS[0], "income": 8411.77, "applicant_id": CANARY_KEY}
    sent = [
        client.post("/diagnose", json=patient),
        client.post("/risk", json=applicant),
        client.post("/recommend", json={"user_id": 91919, "k": 3}),
        client.post("/diagnose", json={**patient, "glucose": CANARY_TEXT}),
        client.post("/diagnose", json={**patient, CANARY_TEXT: 1}),
        client.post("/risk", json={**applicant, "home": CANARY_TEXT}),
        client.post("/risk/batch", json={"rows": [applicant, {**applicant, "age": CANARY_TEXT}]}),
        client.post("/diagnose", data=f'{{"glucose": {CANARY_TEXT}', content_type="application/json"),
    ]
    return [r.status_code for r in sent]


def test_no_value_in_logs_on_success_and_client_errors(client, logs, capfd):
    statuses = requests_through_every_path(client)
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) <= {400, 422}
    out, err = capfd.readouterr()
    assert '"endpoint"' in err, "no JSON access line was written: the test would prove nothing"
    assert_no_canary(logs.text + out + err)


def test_no_value_in_logs_when_the_model_fails(client, logs, monkeypatch, capfd):
    def failing(scorer: Any, rows: list[list[Any]]) -> Any:
        raise ValueError(f"cannot score row {rows[0]}")

    monkeypatch.setattr(ClassifierScorer, "score_rows", failing)  # what the service scores with
    response = client.post("/diagnose", json={**PATIENTS[0], "glucose": CANARY_NUMBER})
    assert response.status_code == 500
    out, err = capfd.readouterr()
    assert "ValueError" in logs.text
    assert_no_canary(logs.text + out + err + response.get_data(as_text=True))
