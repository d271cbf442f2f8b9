"""The edge: FastAPI app, live websocket, static map page, settings and the command line."""
