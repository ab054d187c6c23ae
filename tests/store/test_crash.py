"""An acknowledged append survives ``kill -9`` of the writing process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np

from collector.store.matchers import Matcher
from collector.store.sql import SqlStore, StoreOptions

SERIES = 50
KILL_AFTER_ACKS = 60

WRITER = textwrap.dedent(
    """
    import sys
    from collector.model import Labels
    from collector.store.sql import SqlStore, StoreOptions

    store = SqlStore(sys.argv[1], StoreOptions(chunk_samples=16, wal_flush_samples=700))
    store.open()
    series = [Labels.of({"__name__": "crash_test", "n": str(i)}) for i in range(SERIES)]
    batch = 0
    while True:  # until killed
        batch += 1
        store.append([(labels, batch * 1000, float(batch)) for labels in series])
        print(batch, flush=True)
    """
).replace("SERIES", str(SERIES))


def test_every_acknowledged_batch_survives_kill_9(store_url):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url], stdout=subprocess.PIPE, text=True, env=env
    )
    acked = 0
    try:
        for line in writer.stdout:
            acked = int(line)
            if acked >= KILL_AFTER_ACKS:
                break
        writer.send_signal(signal.SIGKILL)  # mid-ingest: the next batch is already under way
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    assert acked >= KILL_AFTER_ACKS

    with SqlStore(store_url, StoreOptions(chunk_samples=16)) as store:
        found = store.select([Matcher.equal("__name__", "crash_test")], 0, 2**62)
        assert len(found) == SERIES
        lengths = {len(d.timestamps) for d in found}
        # The batch in flight is either wholly there or wholly absent: one transaction.
        assert len(lengths) == 1
        (stored,) = lengths
        assert stored >= acked
        for data in found:
            expected = np.arange(1, stored + 1)
            np.testing.assert_array_equal(data.timestamps, expected * 1000)
            np.testing.assert_array_equal(data.values, expected.astype(float))
