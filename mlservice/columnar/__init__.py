"""Columnar batches: one list per input field in, one list per output out.

A row batch costs a Python object per field per row to validate and per result
to dump, more than the model itself. Columns are checked with one vectorised
pass each (``load``), scored with the model's NumPy terms (``predict``) and
dumped with one conversion per list (``mlservice.schemas.Column``), with the
row schema's semantics and marshmallow's own messages (``schemas``).
"""
