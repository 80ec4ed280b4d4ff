"""The one way to change content: round-trip edits of content files, and commits and pushes."""
