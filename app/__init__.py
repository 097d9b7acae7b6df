"""The reference FastAPI service."""
