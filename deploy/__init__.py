"""Deployment files and the loopback stack runner (importable by the tests)."""
