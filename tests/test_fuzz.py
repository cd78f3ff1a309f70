"""schemathesis against our own OpenAPI document, in process, positive and negative cases.

Checks: no server errors, responses match their documented schemas, status
codes and content types are documented, schema-violating requests are refused
and valid ones accepted. The number of cases run is printed at the end of the run (tests/figures.py).
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.figures import record

CASES = {"in-process": 0, "through nginx": 0}
EXAMPLES_PER_OPERATION = 200
EXAMPLES_THROUGH_NGINX = 25


def fuzzing(examples: int) -> settings:
    """Reproducible runs of ``examples`` cases per operation, with no time limit per case."""
    return settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@fuzzing(EXAMPLES_PER_OPERATION)
def test_api_conforms_to_its_spec(case):
    CASES["in-process"] += 1
    case.call_and_validate()


@pytest.fixture(scope="module")
def stack_schema(tmp_path_factory):
    from tests.stacks import running_stack

    with running_stack(tmp_path_factory.mktemp("fuzz-stack"), replicas=1, workers=2) as stack:
        yield schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


stack_schema_lazy = schemathesis.pytest.from_fixture("stack_schema")


@pytest.mark.integration
@stack_schema_lazy.parametrize()
@fuzzing(EXAMPLES_THROUGH_NGINX)
def test_api_conforms_through_nginx(case):
    """The same checks through real nginx and gunicorn: nginx's own errors must fit the spec too."""
    CASES["through nginx"] += 1
    case.call_and_validate()


def test_enough_cases_ran():
    """Runs after the fuzz tests in file order; a lower count means generation silently shrank."""
    record("schemathesis cases run (in-process)", str(CASES["in-process"]))
    assert CASES["in-process"] >= 1000, CASES


@pytest.mark.integration
def test_enough_cases_ran_through_nginx():
    record("schemathesis cases run (through nginx)", str(CASES["through nginx"]))
    assert CASES["through nginx"] > 0, CASES
