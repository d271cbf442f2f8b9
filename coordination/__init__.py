"""The application layer: the joint-response workflows as policies on the log's events, and the
adapters that fill the core's ports (road router, signal priority, where units are).

Used alike by the live server (web/) and the replay (scenarios/); imports no FastAPI."""
