"""farmbuild: keep the generated half of a FARM-stack app in step with the hand-written half.

The package is orchestration only (config, discovery, the doit task graph, the watch
loop, the worker that imports user code); the text of generated files comes from the
pure ``codegen`` package.
"""

__version__ = "0.1.0"
