"""Warehouse: the DuckDB schema, idempotent loads and the views analysts query."""
