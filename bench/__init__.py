"""The performance harness (``make bench``): real servers, a time-bounded load generator, one table.

Not part of the test suite: it measures, side by side in one run on one machine,
the framework floor (Flask returning constant JSON), a tutorial-style app serving
the same artifacts, and this service, all under the repository's gunicorn
configuration with 2 sync workers; then in-process floors, memory per worker and
time to ready; and checks the targets of issue #7. See docs/performance.md.
"""
