"""``farm watch``: the incremental dev loop (see :mod:`farmbuild.watch.loop`)."""
