"""The pure IVR flow engine.

Nothing in this package may import asyncio, pyVoIP, vosk, aiohttp or SQLAlchemy
(``tests/ivr/test_engine_purity.py`` checks): it takes events and the current
time and returns actions (see ``events`` and ``actions``). ``ivr.session``
carries the actions out.

Reading order: ``flow`` (``load_flow``: YAML → validated ``Flow``), ``engine``
(``FlowEngine``: walks a flow verb by verb), ``verbs/`` (one module per verb
family: schema, references, runner), ``state`` (per-call state and the step
vocabulary), ``simulator`` (a scripted call with a fake clock).
"""
