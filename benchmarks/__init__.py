"""Benchmarks: speed and accuracy measured on this machine, printed with the machine and
the command. Run each as a module from the repository root, e.g.
``.venv/bin/python -m benchmarks.ingest`` (see ``benchmarks/README.md``)."""
