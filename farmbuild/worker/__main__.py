"""``python -m farmbuild.worker``: run the worker loop (imports ``server`` as a normal module
so ops registered from other modules land in the same registry)."""

from farmbuild.worker.server import main

main()
