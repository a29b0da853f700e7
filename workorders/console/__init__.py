"""The agent console and supervisor wallboard served by the work-order service.

``auth`` (password hashing, session secrets) and ``fanout`` (who receives which MQTT event)
are pure; ``routes`` (aiohttp pages, login, WebSocket) and ``hub`` (the connected browsers)
are the web side; the static pages live in ``static/`` (plain HTML, CSS and JS modules).
"""
