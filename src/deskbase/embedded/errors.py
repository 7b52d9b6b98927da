class EmbeddedError(Exception):
    """A problem with the embedded PostgreSQL that the operator must fix; one line."""
