"""Chinese search in Datasette's own search box.

Datasette wraps the table search query in the SQL function ``escape_fts``; this
plugin replaces that function (``trylast=True``, so ours is registered after
Datasette's and wins) with one that emits the character bigrams the archive's FTS5
tables index. The logic lives in :mod:`archive.search`; this file is an adapter.
"""

from datasette import hookimpl

from minqing.archive.search import fts_query


@hookimpl(trylast=True)
def prepare_connection(conn):
    conn.create_function("escape_fts", 1, fts_query)
