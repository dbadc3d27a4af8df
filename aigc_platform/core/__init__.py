"""Shared pieces of the spine: the error family, API base classes, health, pages and their layout."""
