"""minqing stage: classify."""
