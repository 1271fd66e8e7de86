"""The web layer: what the Datasette plugins show (presentation) and who may see it (access).

The only code of the project that knows HTML or HTTP sessions; the plugins in
``datasette/plugins/`` are thin adapters over it.
"""
