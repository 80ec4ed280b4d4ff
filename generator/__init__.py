"""The generator: a status repo's model rendered to static files (installed as tidings.generator)."""
