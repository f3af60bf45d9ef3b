"""Database schema live updates: migrations from the document models, applied to MongoDB.

Pure modules (no I/O, no pymongo import at module level), each testable alone:

* :mod:`.operations` — migration files and their operations: parse, validate, name, render;
* :mod:`.validator` — pydantic's JSON Schema → MongoDB's ``$jsonSchema``; field type names;
* :mod:`.model` — a document model's schema JSON → the collection it wants;
* :mod:`.state` — replay migrations into the state they describe;
* :mod:`.diff` — model vs state → operations (and warnings);
* :mod:`.url` — the database URL: parsed, localhost test, redacted, scrubbed from text.

The thin shell: :mod:`.files` (reading migration files, finding collections by AST),
:mod:`.mongo` (pymongo calls through a ``Database`` handle passed in), :mod:`.workflow`
(the steps the ``db``/``db-apply`` tasks and ``farm db`` share), :mod:`.cli` (``farm db``).
"""
