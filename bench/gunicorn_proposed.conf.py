"""The repository's gunicorn config plus the memory proposal in docs/performance.md.

``preload_app``: the master loads the app and its models once; workers fork from
it and share those pages copy-on-write. ``gc.freeze()`` before each fork moves
every object the master made into the collector's permanent generation, so the
workers' garbage collections do not write to (and so copy) the shared pages.
"""
import gc
import os
import runpy

_REPO_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "gunicorn.conf.py")
globals().update({k: v for k, v in runpy.run_path(_REPO_CONF).items() if not k.startswith("__")})

preload_app = True


def pre_fork(server, worker):
    gc.freeze()
