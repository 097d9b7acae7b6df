"""Pure ASGI middleware for the few truly global concerns (DEP-10).

Pure ASGI rather than `BaseHTTPMiddleware`: the latter runs the app in another
task, so context variables bound there (the request id) would not reach logs.
"""
