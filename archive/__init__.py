"""minqing stage: archive."""
