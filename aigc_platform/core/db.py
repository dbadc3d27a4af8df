"""Database helpers shared by the layers."""

from django.db import connection

# A bulk insert of at least this many rows refreshes the planner's statistics (see `analyze`).
ANALYZE_AFTER_ROWS = 1000


def analyze(*models, rows: int) -> None:
    """Refresh PostgreSQL's statistics of `models`' tables after a bulk insert of `rows` rows.

    Until autovacuum gets to a table, the planner still believes it holds the few rows it had before
    the insert, and picks plans fit for those: next-task over a new 100,000-task project scanned and
    sorted every slot (about 250 ms) instead of reading the first one from its index (under 1 ms)."""
    if connection.vendor != "postgresql" or rows < ANALYZE_AFTER_ROWS:
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
