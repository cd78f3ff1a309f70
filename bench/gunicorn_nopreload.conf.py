"""The repository's gunicorn config with ``preload_app`` off, for comparison only.

Each worker then imports everything and loads every model itself, as the service
did before preloading; the harness reports its memory and time to ready beside the
configured ones, to show what preloading changes.
"""
import os
import runpy

_REPO_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "gunicorn.conf.py")
globals().update({k: v for k, v in runpy.run_path(_REPO_CONF).items() if not k.startswith("__")})

preload_app = False
