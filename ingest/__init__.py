"""minqing stage: ingest."""
