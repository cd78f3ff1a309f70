"""The repository's gunicorn config for the comparison apps (floor, tutorial-style).

Every setting is the repository's; only ``post_worker_init`` is dropped, since it
starts this service's model-config watcher and those apps have no model registry.
"""
import os
import runpy

_REPO_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "gunicorn.conf.py")
globals().update({k: v for k, v in runpy.run_path(_REPO_CONF).items()
                  if not k.startswith("__") and k != "post_worker_init"})
