"""Scripts that print figures (BENCHMARKS.md); run from the project root, e.g. .venv/bin/python benchmarks/ingest.py."""
