"""The edge's log writer: Kamailio's stderr, made safe to keep, into a rotated file.

Kamailio logs what it cannot parse: whole SIP messages (``parse_msg: message=<…>``)
and the header lines around the error. A scanner's garbage made 51 MB an hour of
that, with callers' numbers in it. ``corelog`` cannot silence all of it (module and
parser errors quote the header), so the log is cleaned outside Kamailio:

- a record is one line that starts like Kamailio's (`` 3(1234) ERROR: …``); the
  lines that follow it without that start are a quoted message — they are dropped,
  and a record's own ``message=<…`` is cut there;
- a record is cut at ``MAX_RECORD`` characters;
- every run of 7 or more digits (a phone number) keeps its first 3 and last 2 digits
  (``139******78``);
- the file is rotated at ``--max-bytes`` (``kamailio.log.1`` … ``.KEEP``).

Run as the edge's parent: ``python -m hotline.edge_log --log FILE -- kamailio …``; it
passes SIGTERM/SIGINT/SIGHUP on, and exits with Kamailio's status once Kamailio's
output ends. Standard library only, so the edge's container runs it as a script.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

MAX_RECORD = 400
RECORD_START = re.compile(r"^\s*\d+\(\d+\) [A-Z]+:")
PHONE_NUMBER = re.compile(r"(?<!\d)(\d{3})(\d{2,})(\d{2})(?!\d)")


def mask_numbers(text: str) -> str:
    """Runs of 7+ digits keep their first 3 and last 2 digits."""
    return PHONE_NUMBER.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)


def clean_record(line: str) -> str:
    line = line.rstrip("\r\n")
    quoted = line.find("message=<")
    if quoted >= 0:
        line = line[:quoted] + "[SIP message not logged]"
    if len(line) > MAX_RECORD:
        line = line[:MAX_RECORD] + " [cut]"
    return mask_numbers(line)


def clean_lines(lines: Iterable[str]) -> Iterator[str]:
    """Records out at once; the lines after a record that do not start like one (a
    quoted SIP message) are dropped. Before the first record: the startup banner."""
    seen_record = False
    for line in lines:
        if RECORD_START.match(line):
            seen_record = True
            yield clean_record(line)
        elif not seen_record and line.strip():
            yield clean_record(line)


class RotatingFile:
    """Append lines to ``path``; past ``max_bytes``, shift it to ``.1`` … ``.keep``."""

    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, line: str) -> None:
        self._file.write(line + "\n")
        self._file.flush()
        if self._file.tell() >= self.max_bytes:
            self.rotate()

    def rotate(self) -> None:
        self._file.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.keep > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge_log", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--log",
        required=True,
        help="the log file, or - for standard output (a container: its log driver rotates)",
    )
    parser.add_argument("--max-bytes", type=int, default=10_000_000)
    parser.add_argument("--keep", type=int, default=5, help="rotated files kept")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- kamailio …")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        errors="replace", text=True,
    )  # fmt: skip

    def forward(signum: int, frame: object) -> None:
        if child.poll() is None:
            os.kill(child.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    assert child.stdout is not None
    stream = child.stdout

    def copy() -> None:
        if args.log == "-":
            for record in clean_lines(stream):
                print(record, flush=True)
            return
        out = RotatingFile(Path(args.log), args.max_bytes, args.keep)
        try:
            for record in clean_lines(stream):
                out.write(record)
        finally:
            out.close()

    # Copy in a thread and wait for Kamailio itself: when its main process dies, its forked
    # children may keep the pipe open for a long while, and the node must see the edge die
    # now (it kills what is left of the process group before starting a new edge).
    copier = threading.Thread(target=copy, name="edge-log", daemon=True)
    copier.start()
    code = child.wait()
    for _ in range(20):  # up to 1 s for the last lines (sleep, not a timed join: a timed
        if not copier.is_alive():  # thread wait never returns under libfaketime's offset)
            break
        time.sleep(0.05)
    if code < 0:
        # Die of the same signal, so the supervisor sees what happened to Kamailio itself
        # ("kamailio … killed by SIGKILL"), not a wrapper's exit status.
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
