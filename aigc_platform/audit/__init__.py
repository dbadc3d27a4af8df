"""The audit log: who signed in, made or revoked keys, promoted, deleted, or acted as an admin."""
