"""Helpers shared by the tests: the test environment, database set-up and factories."""
