"""Whether a published incident still speaks in its alerts' words.

The runner opens an incident from an alert with the alert's text: its title ("CPU usage > 90%"),
its description as the summary, and with an integration's `publish: true` a public first update
("Alert fired: ..."). Those words are for responders. Publishing such an incident as it is puts
them on the status page, so every way to publish (`incident publish`, `/publish` from the command
line, Slack or a commit) warns, naming each piece, and the README says how to write public words.
"""

from __future__ import annotations

from pathlib import Path

from tidings.content.model import AlertRecord, Incident
from tidings.ops.alert_rules import RUNNER, AlertError, linked_ids, read_alert

# The runner's first update of an incident it opened starts so (runner/apply.py writes it).
FIRED = "Alert fired: "


def _records(root: Path, incident: Incident) -> list[AlertRecord]:
    """The alert records the incident links that name it back (unreadable ones skipped)."""
    found = []
    for alert_id in linked_ids(root, ((a.source, a.fingerprint) for a in incident.alerts)):
        try:
            record = read_alert(root, alert_id)
        except AlertError:
            continue
        if record.incident == incident.id:
            found.append(record)
    return found


def _opening_title(incident: Incident) -> str | None:
    """The alert title the runner's opening update names ("Alert fired: <title>."), if there is one."""
    for update in incident.updates:
        if update.author == RUNNER and update.body.startswith(FIRED):
            first = update.body.splitlines()[0].removeprefix(FIRED)
            return first.removesuffix(".").strip()
    return None


def alert_words(root: Path, incident: Incident) -> list[str]:
    """What the public reads of `incident` that is still its alerts' text, one phrase a piece."""
    if not incident.alerts:
        return []  # not opened from an alert: the words are a person's
    records = _records(root, incident)
    titles = {r.title.strip() for r in records}
    opening = _opening_title(incident)
    if opening:
        titles.add(opening)
    descriptions = {r.description.strip() for r in records if r.description.strip()}
    found = []
    if incident.title.strip() in titles:
        found.append(f"the title {incident.title.strip()!r} is the alert's")
    summary = incident.body.strip()
    if summary and (summary in descriptions or summary in titles):
        found.append("the summary (the Markdown below the front matter) is the alert's description")
    for update in incident.updates:
        if update.author == RUNNER and not update.internal:
            found.append(f"the public update of {update.at.isoformat()} is the runner's alert text")
    return found


def warning(incident_id: str, rel: str, words: list[str]) -> str:
    """One warning for a person: what is still the alert's, and where to write the public words."""
    return (
        f"incident {incident_id} is published with its alert's words: {'; '.join(words)}. "
        f"Write what customers should read in {rel} (the title, and the summary below the front "
        "matter); see README 'Public words'"
    )
