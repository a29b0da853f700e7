"""A sans-io SIP stack: codec, transactions, dialogs and a user agent core (docs/sip-stack.md)."""
