"""Read an offline W&B run back from disk (its `run-<id>.wandb` transaction log).

The file is a LevelDB-style log: a 7-byte header (":W&B", magic, version), then 32 KiB blocks of
chunks, each with a 7-byte header (crc32, length, type: full/first/middle/last); the chunks of a
record, joined, are one protobuf `wandb.proto.wandb_internal_pb2.Record`.
"""

import json
import struct
import time
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path):
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the rest of a block too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        pos += HEADER
        if kind == 0:  # zero padding to the end of the block
            pos += left - HEADER
            continue
        chunk, pos = data[pos : pos + length], pos + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def finished_records(run_dir, timeout_s: float = 60.0) -> list:
    """The records of the one offline run in `run_dir`, once its exit record is on disk. W&B's service writes
    the file on its own threads and flushes it after `finish()` has returned (seen under load: a file with
    none of the run's history yet), so a test of a run made in its own process waits for the exit record;
    every record logged before it is on disk by then. After `timeout_s`, what is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        (path,) = Path(run_dir).glob("wandb/offline-run-*/run-*.wandb")
        found = list(records(path))
        if any(r.WhichOneof("record_type") == "exit" for r in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def read_run(run_dir):
    """{'id', 'group', 'job_type', 'tags', 'config': dict, 'history': [dict], 'exit_code'} of one run."""
    run = {"history": [], "config": {}, "exit_code": None}
    for r in finished_records(run_dir):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            run.update(id=r.run.run_id, group=r.run.run_group, job_type=r.run.job_type, tags=list(r.run.tags))
            run["config"].update({i.key: json.loads(i.value_json) for i in r.run.config.update})
        elif kind == "config":
            run["config"].update({i.key: json.loads(i.value_json) for i in r.config.update})
        elif kind == "history":
            run["history"].append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in r.history.item})
        elif kind == "exit":
            run["exit_code"] = r.exit.exit_code
    return run
