"""Where decision records live: SQLite by default, PostgreSQL through a URL, one schema for both.

SQLAlchemy Core: the same table and queries on every engine. The schema is created
and upgraded by numbered migrations, applied once in a transaction and recorded in
``mlservice_schema_version``; every worker runs them at start, and a migration already
applied is skipped, so concurrent starts are safe.
"""
from __future__ import annotations

import functools
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa

METADATA = sa.MetaData()
DECISIONS = sa.Table(
    "mlservice_decisions", METADATA,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("caller", sa.String(128)),
    sa.Column("use_case", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("inputs", sa.JSON),
    sa.Column("inputs_until", sa.DateTime(timezone=True)),
    #: Look-ups by request id go through this small integer (``request_key``), not the id itself: request ids
    #: are random, so each record lands on a random page of their index, and an index of 4-byte keys has a
    #: fifth of the pages an index of 32-character ids has (SQLite: 2 µs a record against 6, at 90,000).
    sa.Column("request_key", sa.BigInteger, index=True),
)
VERSION = sa.Table("mlservice_schema_version", METADATA, sa.Column("version", sa.Integer, primary_key=True))


#: The batches written: a batch written twice (its commit succeeded but the answer was lost with the
#: connection, so it was spooled and replayed) is found here and skipped. One row per batch, not an
#: index entry per record: an index costs every insert a page write.
BATCHES = sa.Table("mlservice_decision_batches", METADATA, sa.Column("batch_id", sa.String(32), primary_key=True),
                   sa.Column("at", sa.DateTime(timezone=True), nullable=False))


def _batches_and_no_use_case_index(conn: sa.Connection) -> None:
    BATCHES.create(conn, checkfirst=True)
    conn.execute(sa.text(f"DROP INDEX IF EXISTS ix_{DECISIONS.name}_use_case"))  # queries go by time first


def _request_keys(conn: sa.Connection) -> None:
    """Look-ups by request key. Records from before it keep no key: rather than rewrite each of them at a
    start (millions of updates in one transaction, with every worker waiting), their request-id index
    becomes a partial one that covers them alone, which records made since never touch."""
    table = DECISIONS.name
    if "request_key" not in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN request_key BIGINT"))
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS ix_{table}_request_key ON {table} (request_key)"))
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS ix_{table}_request_id_unkeyed ON {table} (request_id) "
                         "WHERE request_key IS NULL"))
    conn.execute(sa.text(f"DROP INDEX IF EXISTS ix_{table}_request_id"))


#: Numbered migrations: each a function of a connection, applied in order, once. Migration 1 makes the
#: table as defined now, so later migrations check before they change it.
MIGRATIONS = {1: lambda conn: DECISIONS.create(conn, checkfirst=True), 2: _batches_and_no_use_case_index,
              3: _request_keys}
#: Columns an insert fills: a ``Row``'s, in order, then the request's key.
COLUMNS = ("at", "request_id", "row", "caller", "use_case", "model", "version", "digest", "role",
           "outputs", "inputs", "inputs_until", "request_key")


class Row(NamedTuple):
    """One record as the writer makes it: plain values, times in seconds since the epoch, JSON as text
    (all the database driver is given, with the request's key)."""

    at: float
    request_id: str
    row: int
    caller: str | None
    use_case: str
    model: str
    version: str
    digest: str
    role: str
    outputs: str
    inputs: str | None
    inputs_until: float | None


class RecordStore:
    """Insert, read, export and expire records in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        args = {"timeout": 5} if url.startswith("sqlite") else {"connect_timeout": 3}
        self.engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        self._migrated = False

    def migrate(self) -> int:
        """Apply every migration not applied yet; return the schema version.

        Workers and replicas start together: when another one wins the race to create a
        table, this attempt fails, and the next one finds the work done.
        """
        with self._lock:
            for attempt in range(3):
                try:
                    with self.engine.begin() as conn:
                        VERSION.create(conn, checkfirst=True)
                        done = set(conn.execute(sa.select(VERSION.c.version)).scalars())
                        for number, step in sorted(MIGRATIONS.items()):
                            if number not in done:
                                step(conn)
                                conn.execute(VERSION.insert().values(version=number))
                    break
                except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                    if attempt == 2:
                        raise
                    time.sleep(0.1)
            self._migrated = True
        return max(MIGRATIONS)

    def _ready(self) -> None:
        if not self._migrated:
            self.migrate()

    def insert(self, batches: list[tuple[str, list[Row]]]) -> int:
        """Batches (id, rows) in one transaction; a batch written before is skipped. Returns the records written.

        The driver's own ``executemany`` on prepared values: SQLAlchemy's per-value processing
        cost about as much again as the database's work, on cores the requests need.
        """
        self._ready()
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:
            seen = set(conn.execute(sa.select(BATCHES.c.batch_id)
                                    .where(BATCHES.c.batch_id.in_([b for b, _ in batches]))).scalars())
            new = [(b, rows) for b, rows in batches if b not in seen]
            if not new:
                return 0
            at = datetime.now(timezone.utc)
            conn.execute(BATCHES.insert(), [{"batch_id": b, "at": at} for b, _ in new])
            values = [_sqlite_values(r) if sqlite else _server_values(r) for _, rows in new for r in rows]
            if values:
                conn.exec_driver_sql(_SQLITE_INSERT if sqlite else _SERVER_INSERT, values)
        return len(values)

    def by_request(self, request_id: str) -> list[dict[str, Any]]:
        self._ready()
        keyed = sa.or_(DECISIONS.c.request_key == request_key(request_id), DECISIONS.c.request_key.is_(None))
        query = sa.select(DECISIONS).where(keyed, DECISIONS.c.request_id == request_id).order_by(DECISIONS.c.row)
        with self.engine.connect() as conn:
            return [_plain(row) for row in conn.execute(query).mappings()]

    def export(self, since: datetime | None = None, use_case: str | None = None) -> Iterator[dict[str, Any]]:
        self._ready()
        query = sa.select(DECISIONS).order_by(DECISIONS.c.id)
        if since is not None:
            query = query.where(DECISIONS.c.at >= since)
        if use_case is not None:
            query = query.where(DECISIONS.c.use_case == use_case)
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query).mappings():
                yield _plain(row)

    def count(self) -> int:
        self._ready()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(DECISIONS)).scalar_one())

    def expire(self, keep_days: float, now: datetime | None = None) -> tuple[int, int]:
        """Delete records older than ``keep_days`` and kept inputs past their date; (records, inputs) removed."""
        now = now or datetime.now(timezone.utc)
        self._ready()
        with self.engine.begin() as conn:
            old = conn.execute(DECISIONS.delete().where(DECISIONS.c.at < now - timedelta(days=keep_days))).rowcount
            conn.execute(BATCHES.delete().where(BATCHES.c.at < now - timedelta(days=keep_days)))
            inputs = conn.execute(DECISIONS.update().where(DECISIONS.c.inputs_until < now)
                                  .values(inputs=None, inputs_until=None)).rowcount
        return old, inputs


_SQLITE_INSERT = f"INSERT INTO {DECISIONS.name} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SERVER_INSERT = (f"INSERT INTO {DECISIONS.name} ({', '.join(COLUMNS)}) VALUES "
                  f"({', '.join('CAST(%s AS json)' if c in ('outputs', 'inputs') else '%s' for c in COLUMNS)})")


def request_key(request_id: str) -> int:
    """The indexed key of a request id (CRC-32: look-ups compare the id itself too)."""
    return zlib.crc32(request_id.encode())


def _sqlite_values(row: Row) -> tuple[Any, ...]:
    """Times as SQLAlchemy's SQLite DateTime stores them (naive UTC text), so its reads and comparisons hold."""
    return (_sqlite_time(row.at), *row[1:11], None if row.inputs_until is None else _sqlite_time(row.inputs_until),
            request_key(row.request_id))


def _server_values(row: Row) -> tuple[Any, ...]:
    until = None if row.inputs_until is None else datetime.fromtimestamp(row.inputs_until, timezone.utc)
    return (datetime.fromtimestamp(row.at, timezone.utc), *row[1:11], until, request_key(row.request_id))


def _sqlite_time(seconds: float) -> str:
    """"2026-12-05 12:00:00.000000": the second's text made once (records come in time order), then the
    microseconds; a datetime per record cost 3 µs of the recorder's 15."""
    whole = int(seconds)
    return f"{_second_text(whole)}.{int((seconds - whole) * 1e6):06d}"


@functools.lru_cache(maxsize=256)
def _second_text(whole: int) -> str:
    return datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _plain(row: Any) -> dict[str, Any]:
    out = {k: v for k, v in dict(row).items() if k not in ("id", "request_key")}
    for key in ("at", "inputs_until"):
        if out.get(key) is not None:
            value = out[key] if out[key].tzinfo else out[key].replace(tzinfo=timezone.utc)
            out[key] = value.isoformat()
    return out


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    """WAL: readers never wait for writers; every worker writes through its own connection. In WAL,
    synchronous=NORMAL keeps every committed batch through a crash of the service (not of the machine's
    power) without an fsync per commit, which cost about 0.4 ms a record."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


