"""Decision support computed from the model itself: additive explanations and range checks.

Nothing here is loaded at import time; use cases build what they need once per
model, at load (``UseCase.prepare``), and refuse the model if it cannot be built.
"""
