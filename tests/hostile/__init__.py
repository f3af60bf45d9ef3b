"""Hostile tests (issue 8): each module asserts one numbered property of the issue, against the
real build, the real watcher or the real command line, and fails when the property breaks."""
