"""IVR: the SIP adapter (``ivr.sip``), flow engine (``ivr.engine``) and call session."""
