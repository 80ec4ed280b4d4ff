"""Alert sources: each turns a posted payload into an AlertEvent (or a PayloadError)."""
