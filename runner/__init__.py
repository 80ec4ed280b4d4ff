"""The runner: alert webhooks applied to the status repo as commits (installed as tidings.runner)."""
