"""The model as everything downstream reads it: the demo, the public view, the clock, derived state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import PROJECT_ROOT
from tidings import clock
from tidings.content.load import load
from tidings.content.public import public_view
from tidings.ops import status

MAINTENANCE = """\
---
title: Database upgrade
scheduled_for: 2026-04-01T22:00:00Z
scheduled_until: 2026-04-02T00:00:00Z
components: [api]
published: true
---
We upgrade the database.
"""


def test_the_demo_is_clean_and_complete():
    result = load(PROJECT_ROOT)
    # Its one warning is on purpose: the review's action item due 2026-08-15 is still open (overdue).
    assert [(d.path, d.code) for d in result.diagnostics] == [
        ("content/reviews/2026-07-08-api-errors.md", "overdue-action-item")
    ]
    repo = result.repo
    assert len(repo.components) >= 8 and len(repo.groups) == 3
    assert len(repo.incidents) >= 12 and len(repo.maintenance) >= 2
    assert {i.severity for i in repo.incidents} == {"critical", "high", "medium", "low", "unknown"}
    assert {i.status for i in repo.incidents} == {"investigating", "identified", "monitoring", "resolved"}
    assert any(not i.published for i in repo.incidents)
    assert any(i.status != "resolved" and i.published for i in repo.incidents)
    assert any(i.postmortem for i in repo.incidents)
    assert len(repo.reviews) == 1 and len(repo.reviews[0].action_items) >= 2
    assert repo.runbooks and repo.people and len(repo.schedules) == 2 and len(repo.policies) >= 1


def test_public_view_drops_everything_private():
    repo = load(PROJECT_ROOT).repo
    public = public_view(repo)
    assert all(i.published for i in public.incidents)
    assert len(public.incidents) < len(repo.incidents)
    for incident in public.incidents:
        assert not incident.notes and not incident.alerts and not incident.assignees
        assert all(not u.internal and u.author is None for u in incident.updates)
    assert public.people == () and public.schedules == () and public.runbooks == ()
    # The model objects stay immutable: the full repo still has what the public view dropped.
    assert any(i.notes for i in repo.incidents)


def test_publish_false_in_the_site_file_hides_every_incident(make_repo):
    root = make_repo()
    site = root / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text().replace("publish: true", "publish: false"))
    assert load(root).repo.incidents and public_view(load(root).repo).incidents == ()


def test_maintenance_status_follows_the_clock_unless_set(make_repo):
    repo = load(make_repo({"content/maintenance/db-upgrade.md": MAINTENANCE})).repo
    (m,) = repo.maintenance
    assert m.status_at(datetime(2026, 4, 1, 21, tzinfo=UTC)) == "scheduled"
    assert m.status_at(datetime(2026, 4, 1, 23, tzinfo=UTC)) == "in_progress"
    assert m.status_at(datetime(2026, 4, 2, 1, tzinfo=UTC)) == "completed"
    states = status.component_states(repo, datetime(2026, 4, 1, 23, tzinfo=UTC))
    assert states["api"] == "under_maintenance"
    set_status = MAINTENANCE.replace("published: true", "published: true\nstatus: verifying")
    (m,) = load(make_repo({"content/maintenance/db-upgrade.md": set_status}, name="r2")).repo.maintenance
    assert m.status_at(datetime(2026, 4, 2, 1, tzinfo=UTC)) == "verifying"


def test_component_ids_default_to_the_name_as_a_slug(make_repo):
    repo = load(make_repo()).repo
    assert [c.id for c in repo.components] == ["api", "web"]
    assert repo.get("components", "api").name == "API"
    assert repo.get("incidents", "2026-03-14-api-errors").title == "API errors"


def test_models_are_immutable(make_repo):
    incident = load(make_repo()).repo.incidents[0]
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError subclass
        incident.title = "changed"


def test_clock_reads_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    assert clock.now() == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        clock.now()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert clock.now().tzinfo is UTC
