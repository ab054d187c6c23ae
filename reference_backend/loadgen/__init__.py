"""Load generator for the reference shop, built on Locust in library mode.

    python -m reference_backend.loadgen --host http://127.0.0.1:8000 --profile smoke

The shop exists so sloscope has something real to watch; this package gives it realistic
traffic (browsing, ordering, account pages, HTML pages) shaped like the k6/Artillery tests
teams already write: stages of virtual users or of requests per second, and thresholds such as
``p95<500ms`` that turn a run into a pass/fail exit code.

Importing Locust monkey-patches the whole process with gevent, so only ``scenarios`` imports it
at module level and ``runner`` imports that lazily; ``profile``, ``runner`` and ``__main__`` are
safe to import from anywhere. Traffic may only go to loopback hosts, and every run is bounded in
duration, users and request rate.
"""
