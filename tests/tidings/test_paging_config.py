"""The paging rules' settings are validated like every other file: file:line, did-you-mean, schema."""

from __future__ import annotations

import json

from tidings.content.load import load
from tidings.content.schema import schema_files

NOTIFICATIONS = """\
late_grace_minutes: 45
channels:
  - {id: oncall-slack, kind: slack, url_env: SLACK_URL}
  - {id: email, kind: email, host: smtp.example.com, from: oncall@example.com}
"""

PEOPLE = """\
people:
  - id: amara
    name: Amara Okafor
    contact:
      - {channel: oncall-slack}
      - {channel: emial, after_minutes: 5}
  - id: liam
    name: Liam O'Connor
    contact:
      - {channel: email, after_minutes: 2}
      - {channel: oncall-slack, after_minutes: 1}
"""


def _found(root, path):
    return [d.as_text() for d in load(root).diagnostics if d.path == path]


def test_contact_rules_name_known_channels_and_are_used_in_order(make_repo):
    root = make_repo({".gitlab/notifications.yml": NOTIFICATIONS, "content/people.yml": PEOPLE})
    assert _found(root, "content/people.yml") == [
        "content/people.yml:6:19: error: people[0].contact[1].channel: unknown channel 'emial' "
        "(did you mean 'email'?) [unknown-reference]",
        "content/people.yml:10:41: warning: people[1].contact[0].after_minutes: the first contact method is "
        "used as soon as the person is paged, not after 2 minutes (give it after_minutes: 0, or leave "
        "after_minutes out) [contact-first-delayed]",
        "content/people.yml:11:48: warning: people[1].contact[1].after_minutes: contact methods should be "
        "listed in the order they are used [contact-out-of-order]",
    ]


def test_a_contact_rule_without_any_channel_defined(make_repo):
    root = make_repo({"content/people.yml": "people:\n  - {id: a, name: A, contact: [{channel: slack}]}\n"})
    (error,) = load(root).errors
    assert error.message == "unknown channel 'slack'" and error.hint == "no channel is defined yet"


def test_valid_contact_rules_are_in_the_model(make_repo):
    people = PEOPLE.replace("emial", "email").replace("after_minutes: 2}", "after_minutes: 0}")
    root = make_repo({".gitlab/notifications.yml": NOTIFICATIONS, "content/people.yml": people})
    result = load(root)
    assert result.errors == [] and result.warnings == []
    amara = result.repo.get("people", "amara")
    assert [(c.channel, c.after_minutes) for c in amara.contact] == [("oncall-slack", 0), ("email", 5)]  # type: ignore[union-attr]
    assert result.repo.notifications.late_grace_minutes == 45


INTEGRATIONS = """\
integrations:
  - id: prometheus
    kind: alertmanager
    token_env: TOKEN
    page_during_maintenance: yes-please
    heartbeat: {silent_after_minutes: 0, alerts: [Watchdog], severty: high}
  - id: uptime
    kind: generic
    token_env: TOKEN
    heartbeat: {silent_after_minutes: 10}
"""


def test_integration_paging_settings_are_validated(make_repo):
    root = make_repo({".gitlab/integrations.yml": INTEGRATIONS})
    assert _found(root, ".gitlab/integrations.yml") == [
        ".gitlab/integrations.yml:5:30: error: integrations[0].page_during_maintenance: expected true or "
        "false, got text 'yes-please' [wrong-type]",
        ".gitlab/integrations.yml:6:5: warning: integrations[0].heartbeat: a 'monitoring silent' alert of "
        "this integration would page nobody: it has no policy (set 'policy:' on the integration) "
        "[heartbeat-pages-nobody]",
        ".gitlab/integrations.yml:6:39: error: integrations[0].heartbeat.silent_after_minutes: Input should "
        "be greater than or equal to 1 [invalid]",
        ".gitlab/integrations.yml:6:62: error: integrations[0].heartbeat.severty: unknown key 'severty' "
        "(did you mean 'severity'?) [unknown-key]",
        ".gitlab/integrations.yml:10:5: warning: integrations[1].heartbeat: a 'monitoring silent' alert of "
        "this integration would page nobody: it has no policy (set 'policy:' on the integration) "
        "[heartbeat-pages-nobody]",
    ]


def test_integration_paging_defaults(make_repo):
    root = make_repo(
        {
            ".gitlab/integrations.yml": "integrations:\n"
            "  - {id: a, kind: generic, token_env: T, heartbeat: {silent_after_minutes: 5}}\n"
            "  - {id: b, kind: generic, token_env: T}\n"
        }
    )
    a, b = load(root).repo.integrations
    assert a.heartbeat is not None and a.heartbeat.alerts == ["Watchdog", "DeadMansSwitch"]
    assert a.heartbeat.severity == "critical" and not a.page_during_maintenance
    assert b.heartbeat is None


def test_the_schemas_carry_the_new_keys():
    schemas = {name: json.loads(text) for name, text in schema_files().items()}
    defs = schemas["people.schema.json"]["$defs"]
    assert set(defs["ContactMethod"]["properties"]) == {"channel", "after_minutes"}
    assert "contact" in defs["PersonEntry"]["properties"]
    integration = schemas["integrations.schema.json"]["$defs"]["Integration"]["properties"]
    assert {"page_during_maintenance", "heartbeat"} <= set(integration)
    assert "late_grace_minutes" in schemas["notifications.schema.json"]["properties"]
    page = schemas["incident.schema.json"]["$defs"]["Page"]["properties"]
    assert {"step", "channels", "due_at", "late_minutes"} <= set(page)
