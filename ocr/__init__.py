"""minqing stage: ocr."""
