"""Each source reads its vendor's documented payloads (tests/fixtures/sources) into alert events, and
checks that a post comes from its sender."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.runner.sources_setup import SECRETS, basic, bearer, body, pagerduty_signed, sentry_signed
from tidings.content.model import Integration
from tidings.runner.sources import parse, verify
from tidings.runner.sources.datadog import TEMPLATE
from tidings.runner.sources.events import IgnoredEvent, PayloadError

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
GRAFANA = Integration(id="grafana", kind="grafana", token_env="TEST_GRAFANA_TOKEN", component_label="team")
PAGERDUTY = Integration(id="pagerduty", kind="pagerduty", secret_env="TEST_PD_SECRET")
DATADOG = Integration(id="datadog", kind="datadog", token_env="TEST_DD_TOKEN", component_label="name")
SENTRY = Integration(id="sentry", kind="sentry", secret_env="TEST_SENTRY_SECRET")


def headers(pairs: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in pairs.items()}


# --- Grafana ---------------------------------------------------------------------------------------


def test_grafana_reads_the_documented_group_with_its_links_and_values():
    event = parse("grafana", body("grafana/firing.json"), GRAFANA, NOW)
    assert (event.kind, event.source, event.firing) == ("grafana", "grafana", True)
    assert event.group.startswith("gf-") and len(event.alerts) == 2
    memory, cpu = event.alerts
    assert (memory.fingerprint, memory.state, cpu.fingerprint) == (
        "c6eadffa33fcdf37",
        "firing",
        "bc97ff14869b13e3",
    )
    assert memory.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert memory.ends_at is None  # Go's zero time while firing
    assert memory.title == "This alert was triggered for zone us-1"
    assert memory.description == "The system has high memory usage"
    assert memory.monitoring_tool == "Grafana"
    assert memory.component == "blue"  # component_label: team
    assert memory.runbook == "https://myrunbook.com/runbook/1234"  # Grafana's runbook_url annotation
    assert memory.annotations["values"] == "B=44.2394, C=1"
    # Empty dashboard and panel URLs give no link; the rule and the silence do.
    assert dict(memory.links) == {
        "source": "https://play.grafana.org/alerting/1afz29v7z/edit",
        "silence": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
        "&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
    }
    assert event.components == ("blue",)


def test_grafana_keeps_dashboard_panel_and_image_links():
    (memory, _) = parse("grafana", body("grafana/dashboard.json"), GRAFANA, NOW).alerts
    links = dict(memory.links)
    assert links["dashboard"] == "https://play.grafana.org/d/000000012?orgId=1"
    assert links["panel"] == "https://play.grafana.org/d/000000012?orgId=1&viewPanel=2"
    assert links["image"].endswith("Nr7mQ8B1zy.png")


def test_grafana_group_state_follows_each_post():
    one = parse("grafana", body("grafana/one_resolved.json"), GRAFANA, NOW)
    assert [a.state for a in one.alerts] == ["resolved", "firing"] and one.firing
    done = parse("grafana", body("grafana/resolved.json"), GRAFANA, NOW)
    assert not done.firing and done.resolved_at == datetime(2021, 10, 12, 8, 11, 3, 157076, tzinfo=UTC)
    assert done.group == one.group  # the same groupKey, the same incident


def test_an_alertmanager_payload_posted_as_grafana_is_refused_naming_the_version():
    payload = json.loads(body("grafana/firing.json"))
    payload["version"] = "4"
    with pytest.raises(PayloadError) as caught:
        parse("grafana", json.dumps(payload).encode(), GRAFANA, NOW)
    assert caught.value.field == "version"


# --- PagerDuty -------------------------------------------------------------------------------------


def test_pagerduty_incident_is_one_alert_whose_id_is_the_fingerprint():
    event = parse("pagerduty", body("pagerduty/triggered.json"), PAGERDUTY, NOW)
    (alert,) = event.alerts
    assert (event.kind, event.group, alert.fingerprint) == ("pagerduty", "pd-PGR0VU2", "PGR0VU2")
    assert (alert.state, alert.triage, alert.starts_at) == (
        "firing",
        "",
        datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC),
    )
    assert event.title == alert.title == "A little bump in the road"
    assert alert.severity == "high"  # no priority yet: the urgency says it
    assert alert.labels == {"service": "API Service", "urgency": "high"}
    assert dict(alert.links)["PagerDuty incident"] == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert alert.monitoring_tool == "PagerDuty"
    assert alert.annotations["event_type"] == "incident.triggered"


@pytest.mark.parametrize(
    ("name", "state", "triage", "by"),
    [
        ("acknowledged", "firing", "acknowledged", "Tenex Engineer"),
        ("unacknowledged", "firing", "unacknowledged", "API Service"),
        ("reassigned", "firing", "", ""),
        ("priority_updated", "firing", "", ""),
        ("resolved", "resolved", "", ""),
    ],
)
def test_pagerduty_events_say_the_incident_state_and_its_triage(name, state, triage, by):
    (alert,) = parse("pagerduty", body(f"pagerduty/{name}.json"), PAGERDUTY, NOW).alerts
    assert (alert.fingerprint, alert.state, alert.triage, alert.triage_by) == ("PGR0VU2", state, triage, by)
    # Every event carries the incident's creation: no event is a new firing of it.
    assert alert.starts_at == datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC)


def test_pagerduty_priority_gives_the_severity_and_resolve_ends_the_alert():
    (p1,) = parse("pagerduty", body("pagerduty/priority_updated.json"), PAGERDUTY, NOW).alerts
    assert p1.severity == "critical" and p1.labels["priority"] == "P1"
    (done,) = parse("pagerduty", body("pagerduty/resolved.json"), PAGERDUTY, NOW).alerts
    assert done.ends_at == datetime(2020, 10, 2, 19, 2, 10, 581000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "event"), [("annotated", "incident.annotated"), ("service_updated", "service.updated")]
)
def test_pagerduty_events_that_change_no_alert_are_ignored(name, event):
    with pytest.raises(IgnoredEvent) as caught:
        parse("pagerduty", body(f"pagerduty/{name}.json"), PAGERDUTY, NOW)
    assert (caught.value.source, caught.value.event) == ("pagerduty", event)


def test_pagerduty_wrong_shape_names_the_field():
    payload = json.loads(body("pagerduty/triggered.json"))
    payload["event"]["data"]["status"] = "snoozed"
    with pytest.raises(PayloadError) as caught:
        parse("pagerduty", json.dumps(payload).encode(), PAGERDUTY, NOW)
    assert caught.value.field == "event.data.status"
    del payload["event"]["data"]["created_at"]
    payload["event"]["data"]["status"] = "triggered"
    with pytest.raises(PayloadError) as caught:
        parse("pagerduty", json.dumps(payload).encode(), PAGERDUTY, NOW)
    assert caught.value.field == "event.data.created_at"


def test_pagerduty_signature_one_of_several_during_rotation_and_never_an_unset_secret():
    env = {"TEST_PD_SECRET": SECRETS["TEST_PD_SECRET"]}
    payload = body("pagerduty/triggered.json")

    def check(hdrs: dict[str, str], environ: dict[str, str] = env, data: bytes = payload):
        return verify("pagerduty", PAGERDUTY, headers(hdrs), data, environ)

    assert check(pagerduty_signed(payload, SECRETS["TEST_PD_SECRET"])).ok
    # Rotation: the old secret's signature first, ours second; either order works.
    assert check(pagerduty_signed(payload, "the-old-secret", SECRETS["TEST_PD_SECRET"])).ok
    assert check(pagerduty_signed(payload, SECRETS["TEST_PD_SECRET"], "the-new-secret")).ok
    refused = check(pagerduty_signed(payload, "someone-else"))
    assert not refused.ok and refused.reason == "missing or wrong X-PagerDuty-Signature" and not refused.unset
    assert not check({}).ok
    assert not check(pagerduty_signed(payload + b" ", SECRETS["TEST_PD_SECRET"])).ok  # the body changed
    # Only v1 signatures count; a bare hex digest is not one.
    bare = pagerduty_signed(payload, SECRETS["TEST_PD_SECRET"])["X-PagerDuty-Signature"][3:]
    assert not check({"X-PagerDuty-Signature": bare}).ok
    for environ in ({}, {"TEST_PD_SECRET": ""}):
        unset = check(pagerduty_signed(payload, ""), environ)  # even the signature of an empty secret
        assert not unset.ok and unset.unset == "TEST_PD_SECRET"


# --- Datadog ---------------------------------------------------------------------------------------


def test_datadog_template_filled_with_documented_values():
    event = parse("datadog", body("datadog/triggered.json"), DATADOG, NOW)
    (alert,) = event.alerts
    assert (event.group, alert.fingerprint) == (
        "dd-9bd4ac313a4d1e8fae2482df7b77628",
        "9bd4ac313a4d1e8fae2482df7b77628",
    )
    assert (alert.state, alert.starts_known) == ("firing", True)
    assert alert.starts_at == datetime(2014, 7, 29, 19, 37, 52, tzinfo=UTC)  # $DATE, Unix milliseconds
    assert event.title == "[Memory Alert]"  # the transition's prefix is not part of the title
    assert (alert.severity, alert.component, alert.hosts) == ("critical", "myService", ("my-host",))
    assert alert.labels == {"name": "myService", "role": "computing-node"}
    assert alert.description == "@webhook-url Sending to the webhook"
    assert dict(alert.links) == {"Datadog event": "https://app.datadoghq.com/event/jump_to?event_id=123456"}


def test_datadog_transition_decides_fire_renotify_and_resolve():
    renotified = parse("datadog", body("datadog/retriggered.json"), DATADOG, NOW).alerts[0]
    assert (renotified.state, renotified.starts_known) == ("firing", False)
    recovered = parse("datadog", body("datadog/recovered.json"), DATADOG, NOW).alerts[0]
    assert recovered.state == "resolved" and recovered.ends_at == datetime(
        2014, 7, 29, 19, 57, 52, tzinfo=UTC
    )


def test_datadog_unknown_transition_is_ignored_and_a_missing_key_named():
    payload = json.loads(body("datadog/triggered.json"))
    payload["transition"] = "Muted"  # not a transition the runner acts on
    with pytest.raises(IgnoredEvent):
        parse("datadog", json.dumps(payload).encode(), DATADOG, NOW)
    payload["transition"] = "Triggered"
    payload["aggreg_key"] = ""
    with pytest.raises(PayloadError) as caught:
        parse("datadog", json.dumps(payload).encode(), DATADOG, NOW)
    assert caught.value.field == "aggreg_key"


def test_datadog_template_is_json_with_every_variable_the_issue_names():
    filled = TEMPLATE
    for variable in ("$ALERT_ID", "$AGGREG_KEY", "$ALERT_TRANSITION", "$ALERT_TITLE", "$EVENT_MSG",
                     "$ALERT_PRIORITY", "$LINK", "$DATE", "$TAGS"):  # fmt: skip
        assert f'"{variable}"' in filled
    assert set(json.loads(filled)) == set(json.loads(body("datadog/triggered.json")))


def test_datadog_and_grafana_tokens_bearer_and_basic():
    env = dict(SECRETS)
    payload = body("datadog/triggered.json")
    assert verify("datadog", DATADOG, headers(bearer(SECRETS["TEST_DD_TOKEN"])), payload, env).ok
    assert not verify("datadog", DATADOG, headers(bearer("nope")), payload, env).ok
    basic_grafana = Integration(
        id="g", kind="grafana", auth="basic", username="grafana", token_env="TEST_GRAFANA_PASSWORD"
    )
    good = basic("grafana", SECRETS["TEST_GRAFANA_PASSWORD"])
    assert verify("grafana", basic_grafana, headers(good), payload, env).ok
    for wrong in (
        basic("admin", SECRETS["TEST_GRAFANA_PASSWORD"]),
        basic("grafana", "guess"),
        bearer(SECRETS["TEST_GRAFANA_PASSWORD"]),
        {"Authorization": "Basic !!!not-base64"},
        {},
    ):
        refused = verify("grafana", basic_grafana, headers(wrong), payload, env)
        assert not refused.ok and refused.reason == "missing or wrong basic authentication"
    unset = verify("grafana", basic_grafana, headers(basic("grafana", "")), payload, {})
    assert not unset.ok and unset.unset == "TEST_GRAFANA_PASSWORD"


# --- Sentry ----------------------------------------------------------------------------------------


def sentry(name: str, resource: str):
    return parse("sentry", body(f"sentry/{name}.json"), SENTRY, NOW, {"sentry-hook-resource": resource})


def test_sentry_issue_alert_fires_its_issue_without_the_users_data():
    event = sentry("event_alert", "event_alert")
    (alert,) = event.alerts
    assert (event.group, alert.fingerprint, alert.state) == (
        "sentry-issue-1117540176",
        "1117540176",
        "firing",
    )
    assert alert.starts_at == datetime(2019, 8, 19, 21, 6, 17, 677000, tzinfo=UTC)
    assert (alert.title, alert.severity, alert.monitoring_tool) == (
        "ReferenceError: heck is not defined",
        "high",
        "Sentry",
    )
    assert alert.labels == {"level": "error"}
    assert alert.annotations["rule"] == "Very Important Alert Rule!"
    assert dict(alert.links)["Sentry event"].endswith(
        "/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
    )
    # The event's user (an IP address) and browser stay in Sentry, out of the status repo.
    assert "162.21" not in repr(event) and "Chrome" not in repr(event)


@pytest.mark.parametrize(
    ("name", "state", "starts", "triage", "by"),
    [
        ("issue_created", "firing", "2019-08-19T20:58:37.391+00:00", "", ""),
        ("issue_resolved", "resolved", "2019-08-19T21:10:02.118+00:00", "", ""),
        ("issue_unresolved", "firing", "2019-08-20T08:14:55.702+00:00", "", ""),
        ("issue_archived", "firing", "2019-08-19T20:58:37.391+00:00", "ignored", "Meredith Heller"),
    ],
)
def test_sentry_issue_changes_keep_the_issue_id_as_fingerprint(name, state, starts, triage, by):
    (alert,) = sentry(name, "issue").alerts
    when = datetime.fromisoformat(starts)
    assert (alert.fingerprint, alert.state, alert.starts_at) == ("1170820242", state, when)
    assert (alert.triage, alert.triage_by) == (triage, by)


def test_sentry_resolving_the_issue_of_an_issue_alert_resolves_that_alert():
    fired = sentry("event_alert", "event_alert")
    resolved = sentry("issue_resolved_1117540176", "issue")
    assert (resolved.group, resolved.alerts[0].fingerprint) == (fired.group, fired.alerts[0].fingerprint)
    assert (
        resolved.alerts[0].state == "resolved" and resolved.alerts[0].starts_at >= fired.alerts[0].starts_at
    )


def test_sentry_metric_alert_rule_is_the_group_its_incident_the_fingerprint():
    critical = sentry("metric_alert_critical", "metric_alert")
    (alert,) = critical.alerts
    assert (critical.group, alert.fingerprint, alert.state, alert.severity) == (
        "sentry-metric-7",
        "4",
        "firing",
        "critical",
    )
    assert critical.title == "Too many errors" and alert.title == "Critical: Too many errors"
    assert alert.starts_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert sentry("metric_alert_warning", "metric_alert").alerts[0].severity == "medium"
    done = sentry("metric_alert_resolved", "metric_alert").alerts[0]
    assert (done.state, done.starts_at, done.ends_at) == (
        "resolved",
        alert.starts_at,
        NOW,
    )  # date_closed is null


def test_sentry_other_resources_and_actions_are_ignored_and_the_resource_header_required():
    with pytest.raises(IgnoredEvent) as caught:
        sentry("installation", "installation")
    assert caught.value.event == "installation"
    payload = json.loads(body("sentry/issue_created.json"))
    payload["action"] = "assigned"
    with pytest.raises(IgnoredEvent) as caught:
        parse("sentry", json.dumps(payload).encode(), SENTRY, NOW, {"sentry-hook-resource": "issue"})
    assert caught.value.event == "issue.assigned"
    with pytest.raises(PayloadError) as missing:
        parse("sentry", body("sentry/issue_created.json"), SENTRY, NOW)
    assert missing.value.field == "Sentry-Hook-Resource"


def test_sentry_signature_is_the_client_secrets_hmac_of_the_body():
    env = {"TEST_SENTRY_SECRET": SECRETS["TEST_SENTRY_SECRET"]}
    payload = body("sentry/issue_created.json")
    assert verify("sentry", SENTRY, headers(sentry_signed(payload, "issue")), payload, env).ok
    assert not verify("sentry", SENTRY, headers(sentry_signed(payload, "issue", "other")), payload, env).ok
    assert not verify("sentry", SENTRY, headers(sentry_signed(payload, "issue")), payload[:-2], env).ok
    assert not verify("sentry", SENTRY, {"sentry-hook-resource": "issue"}, payload, env).ok
    unset = verify("sentry", SENTRY, headers(sentry_signed(payload, "issue", "")), payload, {})
    assert not unset.ok and unset.unset == "TEST_SENTRY_SECRET"


def test_the_readme_shows_the_datadog_template_this_source_reads():
    from tests.conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "```json\n" + TEMPLATE + "\n```" in readme
