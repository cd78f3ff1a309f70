"""The worst invalid body for each list field costs bounded work and gets a small answer.

Before lengths were checked first, 1 MiB of ``{}`` rows took 25 s of CPU and
answered 113 MB. Bounds here are 10x the measured cost, so a regression to
per-item work on a huge list fails while scheduling noise does not.
"""
from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any

import pytest

from mlservice.errors import MAX_FIELD_ERRORS
from mlservice.schemas.fields import MAX_UNKNOWN_FIELDS

LIMIT = 1024 * 1024 - 64
MAX_ANSWER = 64 * 1024
MAX_CPU_SECONDS = 1.0
MAX_RSS_GROWTH = 64 * 1024 * 1024


def filled(prefix: str, item: str, suffix: str) -> str:
    """As many ``item``s as fit in the body limit."""
    count = (LIMIT - len(prefix) - len(suffix)) // (len(item) + 1)
    return prefix + ",".join([item] * count) + suffix


def rows(row: str, count: int = 1000) -> str:
    return '{"rows":[' + ",".join([row] * count) + "]}"


CROWDED_ROW = "{" + ",".join(f'"u{i}":1' for i in range(MAX_UNKNOWN_FIELDS)) + "}"
WORST = {
    "risk rows, 1 MiB of {}": ("/risk/batch", filled('{"rows":[', "{}", "]}")),
    "diagnose rows, 1 MiB of {}": ("/diagnose/batch", filled('{"rows":[', "{}", "]}")),
    "risk rows, 1000 rows of unknown keys": ("/risk/batch", rows(CROWDED_ROW)),
    "risk rows, 1000 rows of wrong types": ("/risk/batch", rows('{"seniority":"x","home":1,"time":"x","age":"x",'
                                                                 '"marital":1,"records":1,"job":1,"expenses":"x",'
                                                                 '"income":"x","assets":"x","debt":"x","amount":"x",'
                                                                 '"price":"x"}')),
    "liked_items": ("/recommend", filled('{"liked_items":[', '"x"', "]}")),
    "exclude_items": ("/recommend", filled('{"user_id":1,"exclude_items":[', '"x"', "]}")),
    "genres": ("/recommend", filled('{"user_id":1,"genres":[', '"x"', "]}")),
    "unknown keys of one row": ("/risk", "{" + ",".join(f'"k{i:06d}":1' for i in range(60_000)) + "}"),
    "a column": ("/risk/columns", filled('{"columns":{"age":[', '"x"', "]}}")),
}


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


@pytest.mark.parametrize("name", sorted(WORST))
def test_worst_body_costs_bounded_cpu_memory_and_answer(client: Any, name: str) -> None:
    path, body = WORST[name]
    assert len(body) <= LIMIT + 64
    client.post(path, data=b"{}", content_type="application/json")  # warm the schemas
    gc.collect()
    before, start = rss(), time.process_time()
    response = client.post(path, data=body, content_type="application/json")
    cpu = time.process_time() - start
    gc.collect()
    grown = rss() - before
    assert response.status_code == 422, response.data[:300]
    assert len(response.data) <= MAX_ANSWER
    assert cpu < MAX_CPU_SECONDS, f"{cpu:.2f} s of CPU"
    assert grown < MAX_RSS_GROWTH, f"{grown / 2**20:.0f} MiB kept"
    body_json = response.get_json()
    assert set(body_json) <= {"code", "status", "message", "errors"} and body_json["code"] == 422


def test_too_many_field_errors_are_counted_not_listed(client: Any) -> None:
    response = client.post("/risk/batch", data=rows("{}", 100), content_type="application/json")
    listed = sum(len(messages) for row in response.json["errors"]["json"]["rows"].values() for messages in row.values())
    assert listed == MAX_FIELD_ERRORS
    assert f"first {MAX_FIELD_ERRORS} of " in response.json["message"]
    total = int(response.json["message"].split(" of ")[1].split()[0])
    assert total > 100 * 5  # every row misses its required fields


def test_a_list_longer_than_its_limit_is_refused_by_length_alone(client: Any) -> None:
    response = client.post("/recommend", json={"liked_items": ["x"] * 1000})
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"liked_items": ["Length must be between 1 and 100."]}


def test_a_crowded_row_is_refused_without_naming_its_keys(client: Any) -> None:
    row = {f"patient_name_{i}": 1 for i in range(MAX_UNKNOWN_FIELDS + 14)}
    response = client.post("/diagnose", json=row)
    assert response.status_code == 422
    assert "patient_name" not in response.get_data(as_text=True)


def test_a_bare_list_to_a_batch_says_the_body_is_an_object_with_rows(client: Any) -> None:
    response = client.post("/risk/batch", json=[{"age": 30}])
    assert response.status_code == 422
    assert '{"rows": [...]}' in response.json["errors"]["json"]["_schema"][0]
