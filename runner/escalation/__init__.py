"""Escalation: the tick that pages, its rules, the channels it notifies, ack links, announcements."""
