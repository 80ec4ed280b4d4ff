"""Tidings: a GitOps status page and incident runner."""

__version__ = "0.1.0"
