"""Scoring and explaining a model's answers, built once per model at load.

``terms`` → ``additive`` (the additive log-odds form) → ``curve`` → ``linear``
(the form read from a fitted pipeline) → ``verify`` (the rows it is checked on)
→ ``ranges`` (training-range warnings) → ``classifier`` (probabilities and
contributions in one pass, verified once). Nothing here is loaded at import
time, and nothing here knows about HTTP or the registry's routing.
"""
