"""Decision records: every prediction traceable (docs/decisions.md).

The package imports nothing itself: the recorder process (``recorder.py``) needs only
the store and the spool, not Flask's app or the registry's scikit-learn (importing
those cost it seconds of CPU at every start, on the cores the workers serve from).
The Flask extension and ``note`` are in ``extension.py``.
"""
