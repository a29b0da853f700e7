"""The baseline: a bare pyVoIP 1.6.8 phone that answers and keeps each call up.

No fixes, no engine: what one pyVoIP process does with the same callers. It
answers, sends silence (pyVoIP's own sender), drains digits, and hangs up
after ``--hold`` seconds, keeping its callback alive for the whole call.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import pyVoIP.VoIP  # noqa: E402
from pyVoIP.VoIP.VoIP import CallState, InvalidStateError  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edge", type=int, required=True)
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp", required=True, help="LOW-HIGH")
    parser.add_argument("--user", default="12399")
    parser.add_argument("--hold", type=float, default=40.0)
    args = parser.parse_args()
    low, high = (int(p) for p in args.rtp.split("-"))

    def answer(call: pyVoIP.VoIP.VoIPCall) -> None:
        try:
            call.answer()
        except InvalidStateError:
            return
        end = time.monotonic() + args.hold
        while call.state == CallState.ANSWERED and time.monotonic() < end:
            call.get_dtmf(16)
            time.sleep(0.1)
        with contextlib.suppress(InvalidStateError):
            call.hangup()

    phone = pyVoIP.VoIP.VoIPPhone(
        "127.0.0.1", args.edge, args.user, "", myIP="127.0.0.1", callCallback=answer,
        sipPort=args.sip_port, rtpPortLow=low, rtpPortHigh=high,
    )  # fmt: skip
    phone.start()
    print("registered", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        phone.stop()


if __name__ == "__main__":
    main()
