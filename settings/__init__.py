"""Configuration, below everything: the one positioned YAML reader and the node settings.

Every YAML file an admin edits (``hotline.yaml``, menus, prompt texts, ``routing.yaml``,
``agents.yaml``, ``units.yaml``, ``sla.yaml``, ``calendar.yaml``, ``intake.yaml`` and its
corpus) is read by ``settings.located.read_located``, so every error names
``file:line:col`` and the YAML path, and a misspelt key gets a "did you mean". The
packages that run the hotline (``ivr``, ``workorders``, ``routing``, ``asr``,
``recordings``, ``events``) read their settings from here; nothing here imports them.
"""
