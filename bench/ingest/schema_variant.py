#!/usr/bin/env python3
"""schema_variant.py DB (or|rowid): rewrite a goip database's schema in place
for the ephemeral-table experiment of bench/ingest/run.sh (exp pass).

  or     multi-value CHECK (x IN (a, b, c, ...)) constraints of sim_slots and
         sms become CHECK (x = a OR x = b ...): same rule, but SQLite 3.40
         no longer builds an ephemeral table per inserted row to check it.
         (Constraint text only, via writable_schema: the b-tree format does
         not change.)
  rowid  "or", and sim_slots rebuilt as a rowid table with UNIQUE(device,
         slot) instead of WITHOUT ROWID, so DELETE FROM sim_slots WHERE
         device = ? needs no ephemeral table either.

A bench-only experiment on a copy of the database; the schema version is
left as it is so the unchanged goip-cgi accepts it.
"""
import re
import sqlite3
import sys


def orify(sql):
    def rep(m):
        col, vals = m.group(1), re.findall(r"'[^']*'", m.group(2))
        if len(vals) < 3:
            return m.group(0)
        return "CHECK (" + " OR ".join(f"{col} = {v}" for v in vals) + ")"
    return re.sub(r"CHECK \((\w+) IN \(([^)]*)\)\)", rep, sql, flags=re.S)


def main():
    db, mode = sys.argv[1], sys.argv[2]
    assert mode in ("or", "rowid")
    c = sqlite3.connect(db, isolation_level=None)
    rows = c.execute("SELECT name, sql FROM sqlite_schema "
                     "WHERE name IN ('sim_slots', 'sms')").fetchall()
    c.execute("PRAGMA writable_schema=ON")
    for name, sql in rows:
        if mode == "rowid" and name == "sim_slots":
            continue
        c.execute("UPDATE sqlite_schema SET sql = ? WHERE name = ?",
                  (orify(sql), name))
    c.execute("PRAGMA writable_schema=OFF")
    c.close()
    c = sqlite3.connect(db, isolation_level=None)
    if mode == "rowid":
        sql = dict(rows)["sim_slots"]
        new = orify(sql).replace("CREATE TABLE sim_slots",
                                 "CREATE TABLE sim_slots_new")
        new = re.sub(r"PRIMARY KEY \(device, slot\)\s*\)\s*WITHOUT ROWID",
                     "UNIQUE (device, slot)\n)", new)
        assert "WITHOUT ROWID" not in new
        c.execute("PRAGMA foreign_keys=OFF")
        c.execute("BEGIN")
        c.execute(new)
        c.execute("INSERT INTO sim_slots_new SELECT * FROM sim_slots")
        c.execute("DROP TABLE sim_slots")
        c.execute("ALTER TABLE sim_slots_new RENAME TO sim_slots")
        c.execute("COMMIT")
    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok", ok
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


main()
