"""Synthetic reports with known numbers, and the score of the pipeline against them.

synth writes a corpus and its ground truth; evaluate compares a loaded warehouse with it.
Only the CLI imports this package: the pipeline never depends on it.
"""
