"""Sub-commands of ``hotline``: each module has ``register(commands)`` adding its parsers.

Every parser sets ``run=`` to a function ``(args) -> int`` (the exit status).
"""
