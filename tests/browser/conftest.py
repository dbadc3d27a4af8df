"""The browser fixtures (Chromium through Playwright) are in tests/conftest.py, shared with the
browser tests of other folders."""
