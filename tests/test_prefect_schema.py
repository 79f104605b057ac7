"""A new Prefect database made from flows/prefect_sqlite_schema.sql is the one Prefect's own migrations make for
the installed Prefect: the same tables, columns, constraints, indexes and rows, the same file settings; and
Prefect's migrations go on from it as from a migrated one. After a change of Prefect's pin these fail until
`python -m flows.prefect_schema` writes the file again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from flows.prefect_schema import (
    SCHEMA_FILE,
    create_from_schema,
    dump,
    migrate_with_prefect,
    schema_version,
    sqlite_file,
)
from tests.conftest import ROOT

TABLE_CONSTRAINTS = ("CONSTRAINT ", "PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "CHECK")


def top_level_items(body: str) -> list[str]:
    """A CREATE TABLE's column definitions and constraints: its body split at the commas outside parentheses
    and quotes."""
    items, depth, quote, start = [], 0, "", 0
    for at, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(body[start:at].strip())
            start = at + 1
    return [*items, body[start:].strip()]


def definition(kind: str, sql: str) -> tuple:
    """An object's SQL with its whitespace collapsed; a table's columns in their order and its constraints sorted:
    Prefect's migrations write a rebuilt table's constraints in an order that changes from one run to the next
    (two runs of the same migrations differ so), which says nothing about the table."""
    collapsed = " ".join(sql.split())
    if kind != "table":
        return (collapsed,)
    head, body = collapsed.split("(", 1)
    items = top_level_items(body.rsplit(")", 1)[0])
    return (head.strip(), [item for item in items if not item.upper().startswith(TABLE_CONSTRAINTS)],
            sorted(item for item in items if item.upper().startswith(TABLE_CONSTRAINTS)))


def portrait(database: Path) -> dict:
    """What Prefect and its migrations can see of a database: every object's definition, every table's columns in
    order, foreign keys and indexes (SQLite's own reading of them), every row, and the settings kept in the file.
    Nothing is random in a new database (no row but the alembic revision), so nothing is left out."""
    with closing(sqlite3.connect(database)) as conn:
        master = conn.execute("select type, name, tbl_name, sql from sqlite_master where sql is not null").fetchall()
        tables = sorted(name for kind, name, _, _ in master if kind == "table")
        picture: dict = {"objects": sorted((kind, name, table, definition(kind, sql)) for kind, name, table, sql in master)}
        for table in tables:
            foreign_keys: dict[int, list] = {}
            for key, _, target, source, to, on_update, on_delete, match in conn.execute(f'pragma foreign_key_list("{table}")'):
                foreign_keys.setdefault(key, []).append((target, source, to, on_update, on_delete, match))
            indexes = []
            for _, name, unique, origin, partial in conn.execute(f'pragma index_list("{table}")'):
                columns = conn.execute(f'pragma index_xinfo("{name}")').fetchall()
                # an automatic index is named by its place among the table's constraints: its columns say it
                indexes.append(("(automatic)" if name.startswith("sqlite_autoindex_") else name, unique, origin,
                                partial, columns))
            picture[table] = {
                "columns": conn.execute(f'pragma table_xinfo("{table}")').fetchall(),
                "foreign_keys": sorted(foreign_keys.values()),
                "indexes": sorted(indexes, key=repr),
                "rows": sorted(conn.execute(f'select * from "{table}"').fetchall(), key=repr),
            }
        picture["settings"] = {pragma: conn.execute(f"pragma {pragma}").fetchone()[0] for pragma in (
            "journal_mode", "page_size", "auto_vacuum", "encoding", "user_version", "application_id")}
        picture["integrity"] = conn.execute("pragma integrity_check").fetchall()
        picture["foreign_key_violations"] = conn.execute("pragma foreign_key_check").fetchall()
    return picture


def prefect_head() -> str:
    """The last revision of the installed Prefect's SQLite migrations."""
    from alembic.script import ScriptDirectory
    from prefect.server.database import provide_database_interface
    from prefect.server.database.alembic_commands import alembic_config

    config = alembic_config()
    config.set_main_option("version_locations", str(provide_database_interface().orm.versions_dir))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads
    return heads[0]


def test_the_schema_file_is_for_the_installed_prefect_and_its_last_migration():
    """The cheap guard against a bump of Prefect without the file written again."""
    import prefect

    assert schema_version() == prefect.__version__
    revision = prefect_head()
    assert f'INSERT INTO "alembic_version" ("version_num") VALUES (\'{revision}\');' in SCHEMA_FILE.read_text()


def test_only_a_new_database_of_the_same_prefect_version_is_made_from_the_file(tmp_path):
    import prefect

    database = tmp_path / "prefect.db"
    assert not create_from_schema(database, "0.0.1")  # another Prefect: its migrations make it
    assert not database.exists()
    assert not create_from_schema(tmp_path / "missing-directory" / "prefect.db", prefect.__version__)
    assert create_from_schema(database, prefect.__version__)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prefect.db"]  # nothing half made left beside it
    modified = database.stat().st_mtime_ns
    assert not create_from_schema(database, prefect.__version__)  # an existing database is left to the migrations
    assert database.stat().st_mtime_ns == modified


def test_the_database_file_is_read_from_prefects_connection_url(tmp_path):
    assert sqlite_file(f"sqlite+aiosqlite:///{tmp_path}/prefect.db") == tmp_path / "prefect.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite:///file:prefect?mode=memory&uri=true") is None
    assert sqlite_file("postgresql+asyncpg://user:secret@db:5432/prefect") is None


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A new database made by the installed Prefect's own migrations."""
    database = tmp_path_factory.mktemp("migrated") / "prefect.db"
    migrate_with_prefect(database)
    return database


@pytest.mark.slow
def test_the_database_made_from_the_file_is_the_one_prefects_migrations_make(migrated, tmp_path):
    import prefect

    made = tmp_path / "prefect.db"
    assert create_from_schema(made, prefect.__version__)
    ours, prefects = portrait(made), portrait(migrated)
    assert len(ours["objects"]) > 150 and ours["alembic_version"]["rows"] == [(prefect_head(),)]
    assert ours["settings"]["journal_mode"] == "wal" and ours["integrity"] == [("ok",)]
    assert ours == prefects
    # and the file says the same as a dump of the migrated database, but for the order of constraints
    again = tmp_path / "again.sql"
    again.write_text(dump(migrated, prefect.__version__), encoding="utf-8")
    remade = tmp_path / "remade" / "prefect.db"
    remade.parent.mkdir()
    assert create_from_schema(remade, prefect.__version__, schema=again)
    assert portrait(remade) == ours


DOWN_AND_UP = textwrap.dedent("""
    import asyncio, sqlite3, sys
    from prefect.server.database import provide_database_interface

    async def down_and_up():
        db = provide_database_interface()
        await db.run_migrations_downgrade(sys.argv[2])
        print("downgraded to", sqlite3.connect(sys.argv[1]).execute("select version_num from alembic_version").fetchone()[0])
        await db.create_db()

    asyncio.run(down_and_up())
""")


@pytest.mark.slow
def test_prefects_migrations_go_on_from_the_file_made_database_as_from_a_migrated_one(migrated, tmp_path):
    """Prefect's next migrations will start from the file's revision: its last nine taken back and applied again
    (among them table rebuilds, alembic reflecting the file-made tables) give the migrated database."""
    import prefect

    made = tmp_path / "prefect.db"
    assert create_from_schema(made, prefect.__version__)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "PREFECT_SERVER_DATABASE"))}
    environment |= {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{made}"}
    run = subprocess.run([sys.executable, "-c", DOWN_AND_UP, str(made), "-9"], cwd=ROOT, env=environment,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "downgraded to bb2345678901" in run.stdout  # the revision before the task_run rebuild (8bb517bae6f9)
    assert portrait(made) == portrait(migrated)
