"""farmbuild's benchmark harness (see README: "Benchmarks")."""
