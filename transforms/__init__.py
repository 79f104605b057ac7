"""Transforms: cells to long-format facts and checks, as polars expressions over whole batches."""
