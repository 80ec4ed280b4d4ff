"""The content core: a status repo's files read, validated and turned into the typed model."""
