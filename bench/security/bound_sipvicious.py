"""Run ``svwar`` or ``svcrack`` from a chosen loopback address.

sipvicious 0.3.8 takes ``-b ADDRESS`` but its scanners still send from 127.0.0.1, which the
edge allow-lists as its own host: a scan "from 127.0.0.5" would then never be banned and the
battery would measure the allow-list, not the bans. This wrapper binds the scanner's socket
to the address given first, then runs the tool's own command line unchanged::

    python -m bench.security.bound_sipvicious svcrack 127.0.0.5 -u 1001 -r 1-40 udp://…
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

SCANNERS = {"svwar": "TakeASip", "svcrack": "ASipOfRedWine"}


def main(argv: list[str]) -> int:
    tool, source, *rest = argv
    module = import_module(f"sipvicious.{tool}")
    scanner = getattr(module, SCANNERS[tool])
    init = scanner.__init__

    def bound(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["bindingip"] = source
        init(self, *args, **kwargs)

    scanner.__init__ = bound
    sys.argv = [tool, *rest]
    return int(module.main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
