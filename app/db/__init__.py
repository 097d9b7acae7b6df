"""Database plumbing: the declarative base, the engine and the session factory."""
