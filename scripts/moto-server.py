# Runs moto's server with DynamoDB's item writes made atomic. moto checks a conditional write's
# condition and then writes, without a lock, while its server handles requests on many threads: two
# conditional writes to one item at the same moment can both succeed (measured: 27 of 100 rounds of six
# concurrent writers). Real DynamoDB never does that, and the puller's shards rely on it, so each item
# operation here holds one lock from the condition to the write.
#
#   python scripts/moto-server.py -H 127.0.0.1 -p 14566      (the same arguments as moto_server)
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_lock = threading.RLock()

for _name in ("put_item", "get_item", "update_item", "delete_item", "transact_write_items"):
    _operation = getattr(DynamoDBBackend, _name)

    @functools.wraps(_operation)
    def _atomic(self, *args, __operation=_operation, **kwargs):
        with _lock:
            return __operation(self, *args, **kwargs)

    setattr(DynamoDBBackend, _name, _atomic)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
