"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""
from mlservice import create_app

app = create_app()
