"""The web chat: the page people open in a browser, and its JSON endpoint (channel `web`)."""
