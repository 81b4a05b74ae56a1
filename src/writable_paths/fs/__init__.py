"""The file-system layer: the walk, the one module that changes entries
(``apply``), hard-link accounting, worker processes, and the pass that ties
them to the pure core."""
