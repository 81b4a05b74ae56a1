"""The Buildpack API edge: the lifecycle's inputs, the ``BP_*`` settings, the
pattern sources, ``launch.toml``, and the ``detect`` and ``build`` entry points."""
