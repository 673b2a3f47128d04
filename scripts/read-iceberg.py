"""Prints an Iceberg table as an independent reader sees it: pyiceberg, through the REST catalog.

    read-iceberg.py NAMESPACE TABLE

Prints one JSON object: the snapshots of main, oldest first, each with its id (a string: ids are 64-bit),
parent, sequence number and summary; the row count; and the rows of the current snapshot, sorted by
partition and offset, with offsets as strings, timestamps and dates as ISO-8601, decimals as their
digits, bytes as base64 and maps as lists of [key, value].
Settings (environment): ICEBERG_CATALOG_URL (http://127.0.0.1:18181), AWS_ENDPOINT_URL (the S3 endpoint
of the warehouse), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
"""

import base64
import datetime
import decimal
import json
import os
import sys

from pyiceberg.catalog import load_catalog


def plain(value):
    """A JSON-ready copy of a value pyarrow gave."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: read-iceberg.py NAMESPACE TABLE")
    namespace, name = sys.argv[1], sys.argv[2]
    catalog = load_catalog(
        "puller",
        type="rest",
        uri=os.environ.get("ICEBERG_CATALOG_URL", "http://127.0.0.1:18181"),
        **{
            "s3.endpoint": os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:14566"),
            "s3.region": os.environ.get("AWS_REGION", "us-east-1"),
            "s3.access-key-id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "s3.secret-access-key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "s3.force-virtual-addressing": "false",
        },
    )
    table = catalog.load_table((namespace, name))
    snapshots = []
    current = table.current_snapshot()
    by_id = {s.snapshot_id: s for s in table.snapshots()}
    while current is not None:
        snapshots.append(current)
        current = by_id.get(current.parent_snapshot_id) if current.parent_snapshot_id else None
    snapshots.reverse()
    rows = table.scan().to_arrow().to_pylist() if snapshots else []
    for row in rows:
        row["offset"] = str(row["offset"])
    rows.sort(key=lambda r: (r["partition"], int(r["offset"])))
    print(
        json.dumps(
            {
                "snapshots": [
                    {
                        "snapshotId": str(s.snapshot_id),
                        "parentId": None if s.parent_snapshot_id is None else str(s.parent_snapshot_id),
                        "sequenceNumber": s.sequence_number,
                        "summary": dict(s.summary.additional_properties, operation=s.summary.operation.value),
                    }
                    for s in snapshots
                ],
                "rowCount": len(rows),
                "rows": [plain(r) for r in rows],
            }
        )
    )


if __name__ == "__main__":
    main()
