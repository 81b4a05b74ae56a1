"""The writable-paths buildpack. ``tests/test_buildpack_toml.py`` keeps these
equal to buildpack.toml, so the title line needs no TOML parser at run time."""

NAME = "Writable Paths Buildpack"
__version__ = "0.2.0"
