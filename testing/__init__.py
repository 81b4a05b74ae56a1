"""What the tests, the integration harness and the benchmarks share: one model of the
CNB platform (``cnb``: users, the phases' arguments and environment, the buildpack as a
builder holds it) and one file-tree snapshot (``snapshot``).

A top-level package, not a folder of ``tests/``: ``tests/`` (run by pytest with
rootdir imports), ``integration/`` (a package) and ``benchmarks/bench.py`` (a script)
all import it the same way, with the repository on ``sys.path``.
"""
