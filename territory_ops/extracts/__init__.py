"""Extracts: the landing-folder contract (``spec``), ingest, and the sample generator."""
