"""Flows: the Prefect flows, the CLI and the glue that runs extractors -> transforms -> warehouse."""
