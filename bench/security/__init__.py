"""The security battery of issue 13: a whole local node under hostile traffic.

``python -m bench.security.run [--only STEP,…]`` starts ``hotline up`` on free loopback
ports and runs the steps (``corpus``, ``scanners``, ``flood``, ``kill``, ``events``,
``leaks``); each reports figures against its targets into
``bench/results/security-<date>.json`` and a table (``report.py``). See bench/README.md.
"""
