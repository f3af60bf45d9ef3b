"""Pure generators: schemas/OpenAPI in, ``{PurePosixPath: str}`` out. Never imports farmbuild."""
