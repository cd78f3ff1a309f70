"""gunicorn settings for mlservice (see docs/deployment.md for why each is set)."""
import multiprocessing
import os

bind = os.environ.get("MLSERVICE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MLSERVICE_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
