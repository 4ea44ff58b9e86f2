#!/usr/bin/python3
"""check_output.py - reads the file exporter's OTLP/JSON lines and checks
that every line td_loadgen sent arrived exactly once.

Each line td_loadgen sends carries an id c<conn>-<seq>: as the "seq" key of
JSON lines, as "id=c<conn>-<seq>" near the start of plain and over-long
lines. Usage:

    check_output.py OUT_FILE TOTAL [TRUNCATED NOT_JSON]

exits 0 when the ids are exactly TOTAL distinct ones, contiguous per
connection from 0, no id twice; and, when given, when TRUNCATED records
carry tandem.truncated and NOT_JSON records carry tandem.parse_error.
"""
import json
import re
import sys

ID_RE = re.compile(r"id=(c\d+-\d+)")


def attr(rec, key):
    for kv in rec.get("attributes", []):
        if kv["key"] == key:
            return kv["value"]
    return None


def record_id(rec):
    seq = attr(rec, "seq")
    if seq is not None and "stringValue" in seq:
        return seq["stringValue"]
    body = rec.get("body", {}).get("stringValue", "")
    m = ID_RE.search(body)
    return m.group(1) if m else None


def main():
    path, total = sys.argv[1], int(sys.argv[2])
    want_trunc = int(sys.argv[3]) if len(sys.argv) > 3 else None
    want_bad = int(sys.argv[4]) if len(sys.argv) > 4 else None
    seen, dup, noid = {}, 0, 0
    trunc = bad = records = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            req = json.loads(line)
            for rl in req["resourceLogs"]:
                for sl in rl["scopeLogs"]:
                    for rec in sl["logRecords"]:
                        records += 1
                        rid = record_id(rec)
                        if rid is None:
                            noid += 1
                            continue
                        if rid in seen:
                            dup += 1
                        seen[rid] = True
                        if attr(rec, "tandem.truncated") is not None:
                            trunc += 1
                        elif attr(rec, "tandem.parse_error") is not None:
                            bad += 1
    per_conn = {}
    for rid in seen:
        conn, seq = rid[1:].split("-")
        per_conn.setdefault(int(conn), []).append(int(seq))
    gaps = 0
    for seqs in per_conn.values():
        seqs.sort()
        if seqs != list(range(len(seqs))):
            gaps += 1
    print(f"records={records} distinct={len(seen)} duplicates={dup} "
          f"without_id={noid} connections={len(per_conn)} "
          f"connections_with_gaps={gaps} truncated={trunc} not_json={bad}")
    ok = (records == total and len(seen) == total and dup == 0
          and noid == 0 and gaps == 0)
    if want_trunc is not None and trunc != want_trunc:
        print(f"expected {want_trunc} truncated records")
        ok = False
    if want_bad is not None and bad != want_bad:
        print(f"expected {want_bad} records that are not JSON")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
