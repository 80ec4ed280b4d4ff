"""The settings subscribers need, read from the runner's clone: the site file and notifications.yml.

Only those two files are read (not the whole repo, which may hold thousands of incidents), again
whenever either changes on disk. A file that does not validate keeps the last good settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from tidings.content.documents import read_yaml
from tidings.content.layout import NOTIFICATIONS_FILE, SITE_FILE
from tidings.content.load import site_components
from tidings.content.model import NotificationsFile, SiteFile, SubscribersSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    site: SiteFile
    subscribers: SubscribersSettings
    names: dict[str, str] = field(default_factory=dict)  # component id -> name, in page order

    @property
    def enabled(self) -> bool:
        """Whether the site offers subscriptions at all (`subscribe:` in the site file)."""
        return self.site.subscribe is not None

    @property
    def webhooks(self) -> bool:
        return self.site.subscribe is not None and self.site.subscribe.webhooks


def _read(
    root: Path, rel: str, model: type[SiteFile] | type[NotificationsFile]
) -> SiteFile | NotificationsFile | None:
    path = root / rel
    if not path.is_file():
        return model.model_validate({})
    doc = read_yaml(path, rel)
    if doc.data is None:
        return None
    try:
        return model.model_validate(doc.values())
    except ValidationError:
        return None


class SettingsReader:
    """Reads the two files again when they change; keeps the last good settings otherwise."""

    def __init__(self, root: Path):
        self.root = root
        self._stamp: tuple[float, ...] | None = None
        self._settings: Settings | None = None

    def _mtimes(self) -> tuple[float, ...]:
        out = []
        for rel in (SITE_FILE, NOTIFICATIONS_FILE):
            try:
                out.append((self.root / rel).stat().st_mtime)
            except OSError:
                out.append(0.0)
        return tuple(out)

    def get(self) -> Settings | None:
        stamp = self._mtimes()
        if stamp == self._stamp and self._settings is not None:
            return self._settings
        site = _read(self.root, SITE_FILE, SiteFile)
        notifications = _read(self.root, NOTIFICATIONS_FILE, NotificationsFile)
        if not isinstance(site, SiteFile) or not isinstance(notifications, NotificationsFile):
            log.warning(
                "subscribers: the site file or notifications.yml does not validate; keeping the last settings"
            )
            return self._settings
        names = {c.id: c.name for c in site_components(site)}
        self._settings = Settings(site, notifications.subscribers, names)
        self._stamp = stamp
        return self._settings
