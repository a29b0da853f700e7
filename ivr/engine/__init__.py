"""The pure IVR flow engine.

Nothing in this package may import asyncio, pyVoIP, vosk, aiohttp or SQLAlchemy
(``tests/ivr/test_engine_purity.py`` checks): it takes events and the current
time and returns actions (see ``events`` and ``actions``). ``ivr.session``
carries the actions out.

Reading order: ``flow`` (``load_flow``: YAML → validated ``Flow``, with
``targets`` for ``routing.yaml``), ``engine`` (``FlowEngine``: walks a flow verb
by verb), ``verbs/`` (one module per verb family: schema, references, runner),
``state`` (per-call state, variables and the step vocabulary), ``calendar``
(what the engine asks of the working-day calendar it is given), ``jsonschema``
(the menu language for editors), ``simulator`` and ``script`` (a scripted call
with a fake clock: ``hotline simulate``).
"""
