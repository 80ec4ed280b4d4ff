"""Nothing internal leaks: unique markers in every private field, searched for in every output byte."""

from __future__ import annotations

import pytest

from tidings.content.load import load
from tidings.content.model import NotificationsFile
from tidings.content.public import public_view
from tidings.generator.build import build

# Each private field carries its own marker, so a failure names the field that leaked.
PUBLISHED = """\
---
title: Queue delays
severity: high
status: monitoring
published: true
started_at: 2026-03-20T09:00:00Z
acknowledged_at: 2026-03-20T09:02:00Z
components:
  api: partial_outage
updates:
  - at: 2026-03-20T09:05:00Z
    status: investigating
    body: Jobs are delayed. @alice-marker is looking, with @ops/oncall-marker.
    author: author-marker-1
  - at: 2026-03-20T09:10:00Z
    status: identified
    body: INTERNAL-UPDATE-MARKER the disk on db-7 is full.
    internal: true
  - at: 2026-03-20T09:30:00Z
    status: monitoring
    body: A fix is out; write to support@example.com with questions.
notes:
  - at: 2026-03-20T09:06:00Z
    author: alice
    body: NOTE-MARKER call the vendor.
alerts:
  - source: alertmanager
    fingerprint: ALERT-FINGERPRINT-MARKER
runbooks: [queue-runbook]
assignees: [alice]
labels: [LABEL-MARKER]
policy: default
pages:
  - key: PAGE-KEY-MARKER
    at: 2026-03-20T09:00:00Z
    policy: default
    round: 1
    rule: 1
    schedule: primary
    person: alice
    by: PAGE-RUNNER-MARKER
    state: failed
    error: PAGE-ERROR-MARKER
    deliveries:
      - {channel: slack, at: 2026-03-20T09:00:01Z, state: failed, attempts: 3, error: DELIVERY-ERROR-MARKER}
links:
  issue: https://gitlab.example.com/ISSUE-LINK-MARKER
  chat: https://chat.example.com/CHAT-LINK-MARKER
  call: https://meet.example.com/CALL-LINK-MARKER
---
Queued jobs start late.
"""

UNPUBLISHED = """\
---
title: UNPUBLISHED-TITLE-MARKER
severity: critical
status: investigating
started_at: 2026-03-20T10:00:00Z
components:
  web: major_outage
updates:
  - at: 2026-03-20T10:05:00Z
    status: investigating
    body: UNPUBLISHED-BODY-MARKER
---
UNPUBLISHED-SUMMARY-MARKER
"""

UNPUBLISHED_MAINTENANCE = """\
---
title: UNPUBLISHED-MAINTENANCE-MARKER
scheduled_for: 2026-03-25T10:00:00Z
scheduled_until: 2026-03-25T11:00:00Z
components: [api]
---
"""

PUBLISHED_MAINTENANCE = """\
---
title: Network work with @maint-title-marker
published: true
scheduled_for: 2026-03-26T10:00:00Z
scheduled_until: 2026-03-26T11:00:00Z
components: [api]
updates:
  - at: 2026-03-20T09:00:00Z
    status: scheduled
    body: Planned by @maint-update-marker.
  - at: 2026-03-20T09:30:00Z
    status: scheduled
    body: MAINT-INTERNAL-MARKER
    internal: true
---
Ask @maint-body-marker for details.
"""

RUNBOOK = """\
---
title: RUNBOOK-TITLE-MARKER
services: [api]
---
RUNBOOK-BODY-MARKER
"""

PEOPLE = """\
people:
  - id: alice
    name: PERSON-NAME-MARKER
    email: person-email-marker@example.com
    phone: "+49 PHONE-MARKER"
    chat: {slack: SLACK-ID-MARKER}
"""

SCHEDULE = """\
name: SCHEDULE-NAME-MARKER
timezone: Europe/Berlin
rotations:
  - name: ROTATION-MARKER
    starts_at: 2026-01-05T09:00:00
    rotation_length: 1
    rotation_length_unit: weeks
    participants: [alice]
"""

POLICY = """\
name: POLICY-NAME-MARKER
description: POLICY-DESCRIPTION-MARKER
rules:
  - after_minutes: 0
    schedule: primary
"""

NOTIFICATIONS = """\
runner_url: https://RUNNER-URL-MARKER.example.com/
channels:
  - {id: slack, kind: slack, url_env: SLACK_ENV_MARKER}
  - {id: hook, kind: webhook, url: "https://HOOK-URL-MARKER.example.com/", secret_env: HOOK_SECRET_MARKER}
"""

ALERT = """\
title: ALERT-TITLE-MARKER
status: acknowledged
integration: prometheus
source: alertmanager
fingerprint: ALERT-RECORD-FINGERPRINT-MARKER
group: ALERT-GROUP-MARKER
severity: critical
component: api
hosts: [ALERT-HOST-MARKER]
monitoring_tool: ALERT-TOOL-MARKER
environment: ALERT-ENV-MARKER
runbook: https://ALERT-RUNBOOK-MARKER.example.com/
links: {dashboard: "https://ALERT-LINK-MARKER.example.com/"}
description: ALERT-DESCRIPTION-MARKER
first_seen: 2026-03-20T08:59:00Z
last_seen: 2026-03-20T08:59:00Z
starts_at: 2026-03-20T08:59:00Z
incident: queue-delays
events:
  - {at: 2026-03-20T08:59:00Z, event: fired}
  - {at: 2026-03-20T09:01:00Z, event: acknowledged, by: alice, reason: ALERT-REASON-MARKER}
"""

REVIEW = """\
---
title: REVIEW-TITLE-MARKER
incidents: [queue-delays, secret]
created_at: 2026-03-20T12:00:00Z
published_at: 2026-03-20T13:00:00Z
authors: [alice]
annotations:
  - at: 2026-03-20T09:05:00Z
    note: REVIEW-ANNOTATION-MARKER
  - at: 2026-03-20T08:00:00Z
    note: REVIEW-LONE-ANNOTATION-MARKER
action_items:
  - title: REVIEW-ACTION-TITLE-MARKER
    owner: alice
    due: 2026-04-01
    issue: https://gitlab.example.com/REVIEW-ACTION-ISSUE-MARKER
    priority: high
---
REVIEW-PREAMBLE-MARKER

## Summary

The queue backed up; @review-mention-marker fixed it.

## Customer impact

Jobs started late.

## Contributing factors

REVIEW-FACTORS-MARKER

## What went well

REVIEW-WENT-WELL-MARKER

## Timeline notes

REVIEW-OWN-SECTION-MARKER
"""

DRAFT_REVIEW = """\
---
incidents: [queue-delays]
created_at: 2026-03-20T12:00:00Z
---
## Summary

DRAFT-REVIEW-SUMMARY-MARKER
"""

MARKERS = [
    "REVIEW-TITLE-MARKER", "REVIEW-ANNOTATION-MARKER", "REVIEW-LONE-ANNOTATION-MARKER",
    "REVIEW-ACTION-TITLE-MARKER", "REVIEW-ACTION-ISSUE-MARKER", "REVIEW-PREAMBLE-MARKER",
    "review-mention-marker", "REVIEW-FACTORS-MARKER", "REVIEW-WENT-WELL-MARKER", "REVIEW-OWN-SECTION-MARKER",
    "DRAFT-REVIEW-SUMMARY-MARKER",
    "alice-marker", "oncall-marker", "author-marker", "INTERNAL-UPDATE-MARKER", "NOTE-MARKER",
    "ALERT-FINGERPRINT-MARKER", "LABEL-MARKER", "ISSUE-LINK-MARKER", "CHAT-LINK-MARKER", "CALL-LINK-MARKER",
    "UNPUBLISHED-TITLE-MARKER", "UNPUBLISHED-BODY-MARKER", "UNPUBLISHED-SUMMARY-MARKER",
    "UNPUBLISHED-MAINTENANCE-MARKER", "RUNBOOK-TITLE-MARKER", "RUNBOOK-BODY-MARKER", "PERSON-NAME-MARKER",
    "person-email-marker", "PHONE-MARKER", "SLACK-ID-MARKER", "SCHEDULE-NAME-MARKER", "ROTATION-MARKER",
    "POLICY-NAME-MARKER", "POLICY-DESCRIPTION-MARKER", "queue-runbook", "maint-title-marker",
    "maint-update-marker", "maint-body-marker", "MAINT-INTERNAL-MARKER", "PAGE-KEY-MARKER",
    "PAGE-RUNNER-MARKER", "PAGE-ERROR-MARKER", "DELIVERY-ERROR-MARKER", "RUNNER-URL-MARKER",
    "SLACK_ENV_MARKER", "HOOK-URL-MARKER", "HOOK_SECRET_MARKER", "ALERT-TITLE-MARKER",
    "ALERT-RECORD-FINGERPRINT-MARKER", "ALERT-GROUP-MARKER", "ALERT-HOST-MARKER", "ALERT-TOOL-MARKER",
    "ALERT-ENV-MARKER", "ALERT-RUNBOOK-MARKER", "ALERT-LINK-MARKER", "ALERT-DESCRIPTION-MARKER",
    "ALERT-REASON-MARKER",
]  # fmt: skip


@pytest.fixture
def built(make_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    root = make_repo(
        {
            "content/incidents/queue-delays.md": PUBLISHED,
            "content/incidents/secret.md": UNPUBLISHED,
            "content/maintenance/secret-window.md": UNPUBLISHED_MAINTENANCE,
            "content/maintenance/network.md": PUBLISHED_MAINTENANCE,
            "content/runbooks/queue-runbook.md": RUNBOOK,
            "content/people.yml": PEOPLE,
            "content/oncall/schedules/primary.yml": SCHEDULE,
            "content/oncall/policies/default.yml": POLICY,
            ".gitlab/notifications.yml": NOTIFICATIONS,
            "content/alerts/prometheus-0123456789ab.yml": ALERT,
            "content/reviews/queue-delays.md": REVIEW,
            # A draft: nothing of it is public, though its incident is.
            "content/reviews/draft.md": DRAFT_REVIEW.replace("[queue-delays]", "[2026-03-14-api-errors]"),
        }
    )
    out = tmp_path / "public"
    build(root, out)
    return out


def test_no_private_marker_in_any_output_byte(built):
    files = [p for p in built.rglob("*") if p.is_file()]
    names = {p.relative_to(built).as_posix() for p in files}
    # Every kind of output is scanned: pages, feeds, the API, badges, the calendar.
    assert {"index.html", "history.rss", "history.atom", "components/api.atom", "api/v2/incidents.json",
            "api/v2/summary.json", "badges/status.svg", "maintenance.ics"} <= names  # fmt: skip
    leaks = []
    for path in files:
        data = path.read_bytes().lower()
        for marker in MARKERS:
            if marker.lower().encode() in data:
                leaks.append(f"{marker} in {path.relative_to(built)}")
    assert leaks == []


def test_public_parts_are_there_and_mentions_are_redacted(built):
    page = (built / "incidents" / "queue-delays.html").read_text()
    assert "Queued jobs start late." in page and "A fix is out" in page
    assert "Incident Responder is looking, with Incident Responder." in page
    assert "support@example.com" in page  # an e-mail address is not a mention
    review = page[page.index("Post-incident review") :]
    assert "The queue backed up; Incident Responder fixed it." in review and "Jobs started late." in review
    maintenance = (built / "maintenance" / "network.html").read_text()
    assert "Network work with Incident Responder" in maintenance
    assert "Planned by Incident Responder." in maintenance


def test_the_public_view_has_no_pages_and_no_notification_settings(built):
    root = built.parent / "repo"
    repo = load(root).repo
    assert any(i.pages for i in repo.incidents) and repo.notifications.channels  # there is something to hide
    assert [a.title for a in repo.alerts] == ["ALERT-TITLE-MARKER"]
    public = public_view(repo)
    assert all(i.pages == [] for i in public.incidents)
    assert public.notifications == NotificationsFile()
    assert public.alerts == ()
