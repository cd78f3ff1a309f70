"""The two comparison apps the harness serves beside ``wsgi:app``."""
