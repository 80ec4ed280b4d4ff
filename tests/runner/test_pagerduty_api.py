"""Two-way sync with PagerDuty: the REST call that acknowledges or resolves an incident there, against
a real HTTP server standing in for api.pagerduty.com, with retries as pages have them."""

from __future__ import annotations

import json

from tidings.content.model import PagerDutySync, RetrySettings
from tidings.runner.outbound import networks
from tidings.runner.sources.pagerduty_api import tell_pagerduty

TOKEN = "pd-rest-api-token"
RETRY = RetrySettings(attempts=3, backoff_seconds=0.5, timeout_seconds=5)
# The stand-in for PagerDuty is on loopback, which the runner calls only where the repo allows it.
LOOPBACK = networks(["127.0.0.0/8"])


def sync_to(url: str) -> PagerDutySync:
    return PagerDutySync.model_validate(
        {"token_env": "TEST_PD_API_TOKEN", "from": "oncall@example.com", "api_url": url}
    )


def test_an_acknowledgement_is_a_put_on_the_incident_with_token_and_from(http_receiver):
    slept: list[float] = []
    done = tell_pagerduty(sync_to(http_receiver.url), "PGR0VU2", "acknowledged", RETRY, slept.append,
                          {"TEST_PD_API_TOKEN": TOKEN}, LOOPBACK)  # fmt: skip
    assert (done.state, done.attempts, slept) == ("sent", 1, [])
    (request,) = http_receiver.received
    assert (request.method, request.path) == ("PUT", "/incidents/PGR0VU2")
    assert request.json() == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["From"] == "oncall@example.com"
    assert request.headers["Accept"] == "application/vnd.pagerduty+json;version=2"
    assert request.headers["Content-Type"] == "application/json"


def test_busy_answers_are_retried_with_a_doubling_backoff(http_receiver):
    http_receiver.plan = [503, 429]
    slept: list[float] = []
    done = tell_pagerduty(sync_to(http_receiver.url + "/"), "PGR0VU2", "resolved", RETRY, slept.append,
                          {"TEST_PD_API_TOKEN": TOKEN}, LOOPBACK)  # fmt: skip
    assert (done.state, done.attempts, slept) == ("sent", 3, [0.5, 1.0])
    assert [json.loads(r.body)["incident"]["status"] for r in http_receiver.received] == ["resolved"] * 3
    assert {r.path for r in http_receiver.received} == {"/incidents/PGR0VU2"}


def test_a_refusal_or_a_missing_token_fails_at_once_and_says_why(http_receiver, caplog):
    http_receiver.plan = [403]
    slept: list[float] = []
    refused = tell_pagerduty(sync_to(http_receiver.url), "PGR0VU2", "resolved", RETRY, slept.append,
                             {"TEST_PD_API_TOKEN": TOKEN}, LOOPBACK)  # fmt: skip
    assert (refused.state, refused.attempts, refused.error, slept) == ("failed", 1, "HTTP 403 Forbidden", [])
    unset = tell_pagerduty(
        sync_to(http_receiver.url), "PGR0VU2", "resolved", RETRY, slept.append, {}, LOOPBACK
    )
    assert (unset.state, unset.error) == ("failed", "the variable TEST_PD_API_TOKEN is not set")
    assert len(http_receiver.received) == 1  # nothing sent without a token
    assert TOKEN not in caplog.text


def test_an_unreachable_api_is_retried_then_failed(http_receiver):
    url = http_receiver.url
    http_receiver.stop()
    slept: list[float] = []
    done = tell_pagerduty(
        sync_to(url), "PGR0VU2", "acknowledged", RETRY, slept.append, {"TEST_PD_API_TOKEN": TOKEN}, LOOPBACK
    )
    assert (done.state, done.attempts, slept) == ("failed", 3, [0.5, 1.0])
    assert done.error is not None and done.error.startswith("could not reach PagerDuty")
