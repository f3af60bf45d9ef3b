"""A scripted MongoDB on the real wire protocol (MockupDB, from the pymongo team).

No MongoDB server can be installed on the build machines, and mongomock replaces pymongo
rather than talking to it. This answers the commands farmbuild sends over a real socket, so
the real ``MongoClient`` path (connect, ``ping``, ``listCollections``, ``create``,
``createIndexes``, ``collMod``, ``update``, ``insert``, ``find``) is exercised end to end and
every command document is recorded for the test to check. It keeps just enough state
(collections, the ``schema_migrations`` records) to answer consistently; it evaluates no
query and enforces no validator (the real-server test does that).
"""

from __future__ import annotations

from typing import Any

from mockupdb import MockupDB


class WireMongo:
    def __init__(self, port: int | None = None) -> None:
        self.server = MockupDB(port=port, auto_ismaster={"maxWireVersion": 21, "minWireVersion": 0})
        self.commands: list[dict[str, Any]] = []
        self.collections: dict[str, set[str]] = {}
        self.ledger: dict[str, list[dict[str, Any]]] = {}
        self.server.autoresponds(self._handle)

    @classmethod
    def on_port(cls, port: int) -> "WireMongo":
        """A fresh server where a stopped one was (MongoDB coming back after a restart)."""
        return cls(port)

    def start(self) -> "WireMongo":
        self.server.run()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return int(self.server.port)

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.commands if next(iter(c)) == name]

    def _handle(self, request: Any) -> bool:
        doc = dict(request.doc)
        name = next(iter(doc))
        if name in ("ismaster", "isMaster", "hello"):
            return False  # MockupDB's auto_ismaster answers with the wire versions
        if name == "endSessions":
            return bool(request.ok())
        self.commands.append(doc)
        db = doc.get("$db", "test")
        colls = self.collections.setdefault(db, set())
        if name == "ping":
            return bool(request.ok())
        if name == "listCollections":
            batch = [{"name": c, "type": "collection", "options": {}} for c in sorted(colls)]
            return bool(request.ok(cursor={"id": 0, "ns": f"{db}.$cmd.listCollections", "firstBatch": batch}))
        if name == "create":
            if doc["create"] in colls:
                return bool(request.command_err(code=48, errmsg=f"Collection {db}.{doc['create']} already exists."))
            colls.add(doc["create"])
            return bool(request.ok())
        if name == "createIndexes":
            colls.add(doc["createIndexes"])
            return bool(request.ok(numIndexesBefore=1, numIndexesAfter=1 + len(doc["indexes"])))
        if name in ("collMod", "dropIndexes"):
            return bool(request.ok())
        if name == "find":
            batch = self.ledger.get(db, []) if doc["find"] == "schema_migrations" else []
            return bool(request.ok(cursor={"id": 0, "ns": f"{db}.{doc['find']}", "firstBatch": batch}))
        if name == "insert":
            docs = list(request.docs[1:]) if len(request.docs) > 1 else list(doc.get("documents", []))
            colls.add(doc["insert"])
            if doc["insert"] == "schema_migrations":
                self.ledger.setdefault(db, []).extend(dict(d) for d in docs)
            self.commands[-1] = {**doc, "documents": [dict(d) for d in docs]}
            return bool(request.ok(n=len(docs)))
        if name == "update":
            return bool(request.ok(n=0, nModified=0))
        return bool(request.command_err(errmsg=f"the scripted server does not know {name}"))
