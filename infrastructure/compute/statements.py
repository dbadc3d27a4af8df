"""A job's own statements (its insert, claim, lease, progress, end and log lines) as SQL written once.

Every job runs these, and a one-step job is little else: building each through a QuerySet and its
compiler cost a worker more CPU than the database spent running it (bench/api.py's job throughput).
They are the conditional updates the ORM wrote before. Values are adapted by the model's own
fields, rows come back through the ORM's converters, and the SQL reads the same on PostgreSQL and
on the embedded SQLite; where PostgreSQL can do in one statement what SQLite needs a transaction
for (an end and its log lines), each gets its own.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.utils import timezone

from infrastructure.compute.models import Job, JobLog, JobStatus

_FIELDS = {field.attname: field for field in Job._meta.concrete_fields}
# The SQL is written once per process and database vendor (whose quoting it uses): the functions
# that write it are cached, keyed by `connection.vendor`. Each statement looks its connection up
# once (`connections[...]`) and hands that on: `django.db.connection` is a proxy that looks it up
# again at every attribute read, which cost a statement about as much as its own work.


def _db() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


def _name(name: str) -> str:
    return _db().ops.quote_name(name)


@cache
def _insert_sql(vendor: str) -> str:
    columns = ", ".join(_name(field.column) for field in _FIELDS.values())
    return f"INSERT INTO {_name(Job._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(_FIELDS))})"


def _run(db: BaseDatabaseWrapper, sql: str, params: list) -> tuple | None:
    """Run one of these statements; the row it returns, if any. On PostgreSQL it runs prepared, with its
    values bound on the server: planned once per connection rather than at each of its many runs, and
    its values sent as they are rather than written into the SQL text. (Django binds on the client
    and prepares nothing, to keep connection poolers working; these statements need neither.)"""
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
    # The connection as Django's cursor() hands it out: checked when due, open, in this thread.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        bound = _bound_cursor(db)
        bound.execute(sql, params, prepare=True)
        return bound.fetchone() if bound.description else None


# psycopg's own default: a statement run this many times is prepared. These statements ask for it at
# their first run (prepare=True), so it only decides whether psycopg prepares at all.
PREPARE_THRESHOLD = 5

# Per Django connection (one per thread or context): a cursor bound to its current psycopg connection.
_bound_cursors: "WeakKeyDictionary[BaseDatabaseWrapper, ServerBindingCursor]" = WeakKeyDictionary()


def _bound_cursor(db: BaseDatabaseWrapper) -> ServerBindingCursor:
    """The cursor these statements run on, kept while its connection lasts (a new one per statement cost
    about a fifth of the statement's own CPU); a reconnect replaces it, and the old one goes with it."""
    cursor = _bound_cursors.get(db)
    if cursor is None or cursor.closed or cursor.connection is not db.connection:
        # Django opens its connections with prepare_threshold=None, and psycopg then prepares nothing,
        # not even an execute(prepare=True): each of these statements was parsed and planned at every
        # run. A threshold turns `prepare=True` back on. It changes nothing else: Django's own cursors
        # bind on the client, and psycopg never prepares what they run.
        if db.connection.prepare_threshold is None:
            db.connection.prepare_threshold = PREPARE_THRESHOLD
        cursor = _bound_cursors[db] = ServerBindingCursor(db.connection)
    return cursor


def job_insert(job: Job) -> Job:
    """INSERT the new, unsaved `job` (its id is a UUID made here, so nothing needs reading back)."""
    db = _db()
    _run(
        db,
        _insert_sql(db.vendor),
        [field.get_db_prep_save(field.pre_save(job, add=True), db) for field in _FIELDS.values()],
    )
    job._state.adding, job._state.db = False, db.alias
    return job


# Which rows a statement may change: the conditions that make every state change conditional.
CLAIMABLE = "claimable"  # queued, with attempts left
OWNED = "owned"  # running under the given attempt


# A claim's commit does not wait for its WAL to reach the disk: synchronous_commit is off for its
# transaction alone (set_config(..., true)), which the RETURNING list sets once, for the claimed row.
# Nothing is lost by it. The job's end commits durably, and that flushes the claim with it. A claim
# that a PostgreSQL crash loses leaves its job queued, as a worker that died before claiming it would,
# and the sweep sends it again; the lost attempt finds at its next write that it no longer owns the job,
# and stops. A job's insert and its end stay durable: the first is answered with an id, and the second
# must not be undone (a finished job would run again). Inside a caller's transaction the claim commits
# as that transaction does, since the setting would hold for all of it.
COMMIT_ASYNCHRONOUSLY = "set_config('synchronous_commit', 'off', true)"


def _where_sql(rows: str) -> str:
    status, attempt = _name("status"), _name("attempt")
    if rows == CLAIMABLE:
        return f"{_name('id')} = %s AND {status} = '{JobStatus.QUEUED}' AND {attempt} < {_name('max_attempts')}"
    return f"{_name('id')} = %s AND {status} = '{JobStatus.RUNNING}' AND {attempt} = %s"


@cache
def _update_sql(
    vendor: str, rows: str, columns: tuple[str, ...], returning: tuple[str, ...], with_logs: bool, asynchronous: bool
) -> str:
    assignments = [f"{_name(_FIELDS[column].column)} = %s" for column in columns]
    if rows == CLAIMABLE:
        assignments.append(f"{_name('attempt')} = {_name('attempt')} + 1")
    returned = [_name(_FIELDS[column].column) for column in returning]
    if asynchronous:
        returned.append(COMMIT_ASYNCHRONOUSLY)
    update = (
        f"UPDATE {_name(Job._meta.db_table)} SET {', '.join(assignments)} WHERE {_where_sql(rows)} "
        f"RETURNING {', '.join(returned)}"
    )
    if not with_logs:
        return update
    # PostgreSQL only: the lines go in with the update, in the same statement (and transaction).
    return f"WITH {_name('lines')} AS ({_logs_insert_sql(vendor, array=True)}) {update}"


@cache
def _logs_insert_sql(vendor: str, *, array: bool = False) -> str:
    table = JobLog._meta.db_table
    columns = ", ".join(_name(JobLog._meta.get_field(name).column) for name in ("job", "attempt", "created_at", "line"))
    if array:
        return f"INSERT INTO {_name(table)} ({columns}) SELECT %s, %s, %s, unnest(%s::text[])"
    return f"INSERT INTO {_name(table)} ({columns}) VALUES (%s, %s, %s, %s)"


@cache
def _converters(vendor: str, columns: tuple[str, ...]) -> list[tuple[list, Any]]:
    """For each returned column, what a SELECT of it applies (JSON text, SQLite's UUIDs and booleans)."""
    db, converted = _db(), []
    for column in columns:
        expression = _FIELDS[column].get_col(Job._meta.db_table)
        converted.append((db.ops.get_db_converters(expression) + expression.get_db_converters(db), expression))
    return converted


@cache
def _in_model_order(columns: tuple[str, ...]) -> tuple[str, ...]:
    """Model.from_db takes the loaded fields in the order the model declares them."""
    return tuple(column for column in _FIELDS if column in columns)


def _job_from_row(db: BaseDatabaseWrapper, row: tuple, returning: tuple[str, ...]) -> Job:
    values = []
    for value, (converters, expression) in zip(row, _converters(db.vendor, returning)):
        for convert in converters:
            value = convert(value, expression, db)
        values.append(value)
    return Job.from_db(db.alias, list(returning), values)


def job_update(
    job_id,
    *,
    rows: str,
    attempt: int | None = None,
    values: dict[str, Any],
    returning: tuple[str, ...],
    logs: Sequence[str] = (),
) -> Job | None:
    """Set `values` on the job if it is one of `rows` (CLAIMABLE, or OWNED by `attempt`; a claim also
    counts the attempt up), and write the attempt's log lines `logs` with it. Returns a Job holding the
    `returning` fields as the statement left them (the others load when first used), or None when the
    job was not one of `rows`: then the lines are written all the same, since the attempt wrote them."""
    db = _db()
    if logs and db.vendor != "postgresql":
        with transaction.atomic():
            logs_insert(job_id=job_id, attempt=attempt, lines=logs)
            return job_update(job_id, rows=rows, attempt=attempt, values=values, returning=returning)
    columns, returning = tuple(values), _in_model_order(returning)
    params = [_FIELDS[column].get_db_prep_save(value, db) for column, value in values.items()]
    params.append(_FIELDS["id"].get_db_prep_value(job_id, db))
    if rows == OWNED:
        params.append(attempt)
    if logs:
        params = [*_log_params(db, job_id, attempt), list(logs), *params]
    asynchronous = rows == CLAIMABLE and db.vendor == "postgresql" and not db.in_atomic_block
    row = _run(db, _update_sql(db.vendor, rows, columns, returning, bool(logs), asynchronous), params)
    return None if row is None else _job_from_row(db, row, returning)


def _log_params(db: BaseDatabaseWrapper, job_id, attempt: int) -> list:
    """What every line of one write shares: its job, attempt and time."""
    created = JobLog._meta.get_field("created_at").get_db_prep_save(timezone.now(), db)
    return [_FIELDS["id"].get_db_prep_value(job_id, db), attempt, created]


def logs_insert(*, job_id, attempt: int, lines: Sequence[str]) -> None:
    """The lines in one statement on PostgreSQL (as an end writes them); one INSERT per line on SQLite."""
    db = _db()
    shared = _log_params(db, job_id, attempt)
    if db.vendor == "postgresql":
        _run(db, _logs_insert_sql(db.vendor, array=True), [*shared, list(lines)])
        return
    with db.cursor() as cursor:
        cursor.executemany(_logs_insert_sql(db.vendor), [[*shared, line] for line in lines])
