"""Where things live in a status repo. The one list of paths every other module reads."""

from __future__ import annotations

from dataclasses import dataclass

SITE_FILE = ".gitlab/status-page.yml"
CONTENT_DIR = "content"
PEOPLE_FILE = "content/people.yml"
INTEGRATIONS_FILE = ".gitlab/integrations.yml"
NOTIFICATIONS_FILE = ".gitlab/notifications.yml"
SCHEMA_DIR = ".gitlab/schemas"
ALERTS_DIR = "content/alerts"
REVIEWS_DIR = "content/reviews"


@dataclass(frozen=True)
class Folder:
    """A folder of content files of one kind, one item a file, the file name being its id."""

    kind: str  # key into model.FILE_MODELS
    path: str  # relative to the repo root
    suffixes: tuple[str, ...]
    markdown: bool  # YAML front matter + Markdown body, or a plain YAML file


FOLDERS: tuple[Folder, ...] = (
    Folder("incident", "content/incidents", (".md",), markdown=True),
    Folder("maintenance", "content/maintenance", (".md",), markdown=True),
    Folder("runbook", "content/runbooks", (".md",), markdown=True),
    # Incident templates: checked like the rest, but they are not incidents (no page, no id space).
    Folder("template", "content/templates", (".md",), markdown=True),
    Folder("schedule", "content/oncall/schedules", (".yml", ".yaml"), markdown=False),
    Folder("policy", "content/oncall/policies", (".yml", ".yaml"), markdown=False),
    # What the runner received, kept for triage: internal, and many (a noisy team writes thousands).
    Folder("alert", ALERTS_DIR, (".yml",), markdown=False),
    # Post-incident reviews: front matter (incidents, annotations, action items) + Markdown sections.
    Folder("review", REVIEWS_DIR, (".md",), markdown=True),
)

# Entries of content/ that are ours; anything else there is probably a typo and gets a warning.
KNOWN_CONTENT_ENTRIES = frozenset(
    {
        "incidents",
        "maintenance",
        "runbooks",
        "oncall",
        "people.yml",
        "templates",
        "alerts",
        "reviews",
        "README.md",
    }
)
KNOWN_ONCALL_ENTRIES = frozenset({"schedules", "policies", "README.md"})
