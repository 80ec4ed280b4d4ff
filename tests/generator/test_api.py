"""api/v2: Statuspage's paths, fields and enums, read by an existing Statuspage client over real HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

from tests.conftest import PROJECT_ROOT
from tidings.generator.build import build

TOOLS = PROJECT_ROOT / ".tools" / "node_modules"
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
PATHS = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]


def _load(site, path):
    return json.loads((site / "api" / "v2" / path).read_text())


def test_every_statuspage_path_exists_with_its_page(demo_site):
    for path in PATHS:
        doc = _load(demo_site, path)
        assert set(doc["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
        assert doc["page"]["name"] == "Lumen Cloud Status"


def test_status_follows_the_worst_component(demo_site):
    status = _load(demo_site, "status.json")["status"]
    assert status == {
        "indicator": "major",
        "description": "Partial System Outage",
    }  # webhooks: partial outage


def test_components_and_groups(demo_site):
    components = _load(demo_site, "components.json")["components"]
    plain = [c for c in components if not c["group"]]
    groups = {c["id"]: c for c in components if c["group"]}
    assert len(plain) == 8 and set(groups) == {"platform", "developer", "data"}
    assert {c["status"] for c in components} <= COMPONENT_STATUSES
    assert groups["developer"]["components"] == ["git", "ci", "webhooks"]
    assert groups["developer"]["status"] == "partial_outage"
    webhooks = next(c for c in plain if c["id"] == "webhooks")
    assert webhooks["group_id"] == "developer" and webhooks["status"] == "partial_outage"
    keys = {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
            "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}  # fmt: skip
    assert all(keys <= set(c) for c in components)


def test_incidents_with_updates_and_affected_components(demo_site):
    incidents = _load(demo_site, "incidents.json")["incidents"]
    ids = [i["id"] for i in incidents]
    assert "2026-11-24-postgres-replica-lag" not in ids  # unpublished
    assert ids[0] == "2026-11-23-webhook-delivery-delays"  # newest first
    api = next(i for i in incidents if i["id"] == "2026-07-08-api-errors")
    assert api["impact"] == "critical" and api["status"] == "resolved"
    assert [u["status"] for u in api["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert "rolled back lb-config" not in json.dumps(api)  # the internal update
    assert {c["id"] for c in api["components"]} == {"api", "web", "graphql"}
    update_keys = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
                   "affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}  # fmt: skip
    assert all(set(u) == update_keys for u in api["incident_updates"])
    unresolved = _load(demo_site, "incidents/unresolved.json")["incidents"]
    assert {i["id"] for i in unresolved} == {
        "2026-11-23-webhook-delivery-delays",
        "2026-11-20-ci-runners-slow",
    }


def test_maintenance_filters(demo_site):
    upcoming = _load(demo_site, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == ["2026-12-06-object-storage-migration"]
    assert (
        upcoming[0]["status"] == "scheduled" and upcoming[0]["scheduled_for"] == "2026-12-06T01:00:00+01:00"
    )
    assert _load(demo_site, "scheduled-maintenances/active.json")["scheduled_maintenances"] == []
    everything = _load(demo_site, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert {m["status"] for m in everything} == {"scheduled", "completed"}


def test_incidents_json_respects_the_limit(make_repo, tmp_path):
    files = {}
    for day in range(1, 8):
        files[f"content/incidents/i{day}.md"] = textwrap.dedent(f"""\
            ---
            title: Incident {day}
            status: resolved
            published: true
            started_at: 2026-03-0{day}T09:00:00Z
            resolved_at: 2026-03-0{day}T10:00:00Z
            updates:
              - {{at: 2026-03-0{day}T10:00:00Z, status: resolved, body: Done.}}
            ---
            """)
    root = make_repo(files)
    site_file = root / ".gitlab" / "status-page.yml"
    site_file.write_text(site_file.read_text().replace("limit: 50", "limit: 3"))
    build(root, tmp_path / "out")
    incidents = json.loads((tmp_path / "out" / "api" / "v2" / "incidents.json").read_text())["incidents"]
    assert [i["name"] for i in incidents] == ["API errors", "Incident 7", "Incident 6"]


CLIENT = """
const {Statuspage} = require(process.argv[2]);
const client = new Statuspage("tidings");
client.setApiUrl(process.argv[3]);
(async () => {
  const out = {
    summary: await client.api.getSummary(),
    status: await client.api.getStatus(),
    components: await client.api.getComponents(),
    incidents: await client.api.incidents.getAll(),
    unresolved: await client.api.incidents.getUnresolved(),
    maintenances: await client.api.scheduledMaintenances.getAll(),
    upcoming: await client.api.scheduledMaintenances.getUpcoming(),
  };
  console.log(JSON.stringify(out));
})().catch(error => { console.error(String(error)); process.exit(1); });
"""


def test_an_existing_statuspage_client_reads_the_api(demo_site, http_server, tmp_path):
    """npm's statuspage.io client, pointed at the built site served under a sub-path over real HTTP."""
    node = shutil.which("node")
    assert node, "node is needed for the Statuspage client test"
    assert (TOOLS / "statuspage.io").is_dir(), "run script/test-tools to install the Statuspage client"
    webroot = tmp_path / "webroot"
    (webroot / "status").mkdir(parents=True)
    shutil.copytree(demo_site, webroot / "status" / "lumen")
    base = http_server(webroot) + "status/lumen"
    script = tmp_path / "client.js"
    script.write_text(CLIENT)
    run = subprocess.run(
        [node, script, str(TOOLS / "statuspage.io"), base],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["status"]["status"]["indicator"] == "major"
    assert got["summary"]["page"]["name"] == "Lumen Cloud Status"
    assert len(got["summary"]["incidents"]) == 2
    assert {c["name"] for c in got["components"]["components"]} >= {
        "Web App",
        "Webhooks",
        "Postgres Databases",
    }
    assert got["incidents"]["incidents"][0]["incident_updates"][0]["status"] == "identified"
    assert [i["id"] for i in got["unresolved"]["incidents"]] == [
        "2026-11-23-webhook-delivery-delays",
        "2026-11-20-ci-runners-slow",
    ]
    # statuspage.io 3.3.8 reads scheduled-maintenances/upcoming.json for getAll and getActive too.
    assert got["maintenances"] == got["upcoming"]
    assert got["upcoming"]["scheduled_maintenances"][0]["name"] == "Object Storage network migration"


def test_an_incident_that_has_not_started_is_left_out_as_on_the_index(make_repo, tmp_path, monkeypatch):
    def future(status: str) -> str:
        resolved = "resolved_at: 2026-06-01T11:00:00Z\n" if status == "resolved" else ""
        return (
            f"---\ntitle: Future {status}\nstatus: {status}\npublished: true\n"
            f"started_at: 2026-06-01T10:00:00Z\n{resolved}components: {{api: major_outage}}\n"
            f"updates:\n  - {{at: 2026-06-01T10:05:00Z, status: {status}, body: From the future.}}\n---\n"
        )

    root = make_repo(
        {"content/incidents/f1.md": future("investigating"), "content/incidents/f2.md": future("resolved")}
    )
    for epoch, shown in (
        ("1774083600", ["API errors"]),
        ("1780400000", ["Future resolved", "Future investigating", "API errors"]),
    ):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)  # 2026-03-21, then 2026-06-02
        out = tmp_path / f"out-{epoch}"
        build(root, out)
        assert [i["name"] for i in _load(out, "incidents.json")["incidents"]] == shown
        index = (out / "index.html").read_text()
        assert ("Future resolved" in index) == (len(shown) > 1)
