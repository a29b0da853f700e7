"""IVR: the SIP adapter (``ivr.sip``), the pure flow engine (``ivr.engine``) and the call session."""
