"""The default bounds on one request body (`Edge`, `serve --max-body`): light, so the command
line shows them without importing the server."""

DEFAULT_MAX_BODY = 1024 * 1024  # bytes: 1 MiB
DEFAULT_BODY_TIMEOUT = 30.0  # seconds to receive a whole body
