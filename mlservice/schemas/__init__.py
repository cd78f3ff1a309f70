"""Validation and serialization, in layers that import only what is below them.

``fields`` (strict fields, the NumPy column dumper) → ``compiled`` (one generated
function per schema) → ``base`` (``StrictSchema``: the compiled pass, marshmallow
on any doubt) → ``responses`` (shared response parts) → ``column_checks`` →
``column_load`` → ``columns`` (the columnar request and response schemas).
``openapi`` publishes what JSON Schema cannot say.
"""
