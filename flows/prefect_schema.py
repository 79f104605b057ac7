"""Prefect's SQLite database made in one step from the SQL its migrations leave, for the pinned Prefect.

Prefect makes a new database only through its ~110 alembic migrations: 3-4.5 CPU s, most of the first start
of nianbao's local server. `prefect_sqlite_schema.sql` is what those migrations leave in a new SQLite
database for one Prefect version (every table, index, trigger and view as SQLite stores it, in the order
SQLite lists them, then the rows they insert: the alembic revision), so the server makes a new database by
executing it, in tens of milliseconds, when the installed Prefect is that version, and lets Prefect migrate
otherwise. After a change of Prefect's pin, make it again (tests/test_prefect_schema.py fails until then):

    .venv/bin/python -m flows.prefect_schema

Writing it again without a change of Prefect may reorder the constraints of some tables: Prefect's migrations
themselves write a rebuilt table's constraints in an order that changes from run to run (the same table).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("prefect_sqlite_schema.sql")
VERSION_LINE = re.compile(r"^-- Prefect ([^ ]+) ", re.MULTILINE)
MIGRATE = ("import asyncio\n"
           "from prefect.server.database import provide_database_interface\n"
           "asyncio.run(provide_database_interface().create_db())\n")


def schema_version(schema: Path = SCHEMA_FILE) -> str | None:
    """The Prefect version whose migrations the schema file reproduces (its first line says it)."""
    try:
        with schema.open(encoding="utf-8") as file:
            found = VERSION_LINE.match(file.readline())
    except OSError:
        return None
    return found.group(1) if found else None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite connection URL; None for another database, an in-memory one, or a URL with options
    (those are left to Prefect's migrations)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def create_from_schema(database: Path, prefect_version: str, schema: Path = SCHEMA_FILE) -> bool:
    """Make a new Prefect database by executing the schema file, if the file is for this Prefect version.

    False, with nothing done, when it is for another version, when the database exists (Prefect's migrations
    bring it up to date) or when its directory does not (Prefect's migrations say what is wrong). The database
    is written under another name and linked into place, so that a database that appeared meanwhile is never
    replaced and an interrupted creation leaves none half made.
    """
    if schema_version(schema) != prefect_version or database.exists() or not database.parent.is_dir():
        return False
    partial = database.with_name(f".{database.name}.{os.getpid()}.new")
    try:
        with closing(sqlite3.connect(partial, isolation_level=None)) as conn:
            conn.executescript(schema.read_text(encoding="utf-8"))  # its own transaction; WAL as Prefect sets it
        os.link(partial, database)
    except FileExistsError:
        return False
    finally:
        for leftover in (partial, partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
            leftover.unlink(missing_ok=True)
    return True


def dump(database: Path, prefect_version: str) -> str:
    """The SQL that makes `database` again: a header naming the Prefect version, the database's journal mode,
    then in one transaction every object SQLite stores a definition for, in its order, and every row."""
    with closing(sqlite3.connect(database)) as conn:
        journal_mode, = conn.execute("pragma journal_mode").fetchone()
        revision, = conn.execute("select version_num from alembic_version").fetchone()
        objects = conn.execute("select type, name, sql from sqlite_master where sql is not null "
                               "and name not like 'sqlite\\_%' escape '\\' order by rowid").fetchall()
        lines = [f"-- Prefect {prefect_version} (alembic revision {revision}): its SQLite database as its migrations "
                 "make it, for nianbao's local server (flows/prefect_schema.py).",
                 f"-- Written by `python -m flows.prefect_schema` (SQLite {sqlite3.sqlite_version}); do not edit: "
                 "run it again after changing Prefect's pin.",
                 f"PRAGMA journal_mode = {journal_mode};", "BEGIN;"]
        lines += [f"{sql};" for _, _, sql in objects]
        for kind, table, _ in objects:
            if kind == "table":
                lines += _inserts(conn, table)
    return "\n".join([*lines, "COMMIT;", ""])


def _inserts(conn: sqlite3.Connection, table: str) -> list[str]:
    """The table's rows as INSERT statements, their values quoted by SQLite itself."""
    columns = [name for _, name, *_ in conn.execute(f'pragma table_info("{table}")')]
    quoted = ", ".join(f'quote("{column}")' for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    return [f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(values)});'
            for values in conn.execute(f'select {quoted} from "{table}"')]


def migrate_with_prefect(database: Path) -> None:
    """A new database made by Prefect's own migrations (`create_db`, as its server's start-up runs them), in a
    process of its own with a throwaway PREFECT_HOME."""
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "PREFECT_SERVER_DATABASE"))}
        environment |= {"PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{database.resolve()}"}
        subprocess.run([sys.executable, "-c", MIGRATE], env=environment, check=True)


def write_schema(schema: Path = SCHEMA_FILE) -> str:
    """Migrate a throwaway database with the installed Prefect and write its dump to `schema`; the version."""
    import prefect

    with tempfile.TemporaryDirectory(prefix="prefect-schema-") as work:
        database = Path(work) / "prefect.db"
        migrate_with_prefect(database)
        schema.write_text(dump(database, prefect.__version__), encoding="utf-8")
    return prefect.__version__


if __name__ == "__main__":
    print(f"wrote {SCHEMA_FILE} for Prefect {write_schema()}")
