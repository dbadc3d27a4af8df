"""Accounts: roles as Django groups, API keys per user, and the token and key authentication."""
