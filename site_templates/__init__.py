"""The shipped Jinja templates and static assets; a status repo's own site_templates/ overrides them."""

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent
