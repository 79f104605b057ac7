"""Extractors: report files to cells named by template codes (fetch, decode, locate tables, read cells)."""
