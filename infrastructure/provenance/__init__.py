"""Provenance: a record for every generated artifact (what made it, from which request, when, for whom, in which job)."""
