"""Pydantic schemas: the shapes that cross the API and the job queue."""
