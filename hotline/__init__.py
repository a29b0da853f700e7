"""The ``hotline`` command: settings, the local process supervisor (``hotline up``) and the edge."""
