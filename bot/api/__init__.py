"""The JSON API (/api/v1): what the console does, for scripts and other tools, with tokens."""
