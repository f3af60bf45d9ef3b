"""Plain `doit` drives the same tasks as `farm build`, here for the example app (examples/farm-app)."""
from farmbuild.dodo import doit_tasks

DOIT_CONFIG, task_farm = doit_tasks(__file__, "examples/farm-app")
