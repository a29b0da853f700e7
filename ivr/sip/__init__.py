"""SIP and RTP at the edge of the IVR.

``pyvoip_adapter`` is the only module of the project that imports pyVoIP. The
other modules here are pure helpers it uses (G.711, RTP/RFC 4733 parsing,
playback buffering) so that they can be tested without threads or sockets.
"""
