"""kit.cache shared by processes: concurrent readers and writers get the origin's bytes and
leave only whole entries, a writer killed with SIGKILL leaves no torn entry, and a lesson
script that ran once runs again with the server stopped (NGFF_KIT_OFFLINE=1).

Real processes (``python -c``/a script file with PYTHONPATH set to this tree), a real
DemoServer with Basic auth and latency.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import REPO

from kit.cache.disk import TMP_PREFIX, DiskCache, Entry, _decode, entry_id
from kit.demo.generate import write_plate

PASSWORD = "Proc-Pa55-secret"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("NGFF_KIT_", "AWS_", "DANDI_"))}
    base.update(PYTHONPATH=str(REPO), NETRC=os.devnull, **extra)
    return base


def run(code: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], env=env(**extra),
                          capture_output=True, text=True, timeout=240)


@pytest.fixture
def plate(tmp_path) -> Path:
    root = tmp_path / "data"
    write_plate(root / "p.zarr", version="0.5", rows="A", columns=("1", "2"),
                image_kwargs={"axes": "cyx", "shape": (2, 128, 128), "chunks": (1, 32, 32),
                              "levels": 2})
    return root


def origin_files(root: Path) -> dict[str, str]:
    folder = root / "p.zarr"
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_whole_entries(cache: Path) -> int:
    """Every entry file in ``cache`` decodes (length and digest check); returns how many."""
    n = 0
    for path in cache.rglob("*"):
        if path.is_file() and not path.name.startswith(TMP_PREFIX):
            assert _decode(path.read_bytes()) is not None, f"torn entry {path}"
            n += 1
    return n


READER = textwrap.dedent("""
    import asyncio, hashlib, json, os, sys, time
    import kit
    from kit.io.loop import run_sync
    from kit.io.sources import open_location
    from zarr.core.buffer import default_buffer_prototype
    url, keys = sys.argv[1], json.loads(sys.argv[2])
    while time.time() < float(sys.argv[3]):  # start together
        time.sleep(0.005)
    plate = kit.open(url, auth=kit.BasicAuth("demo", os.environ["DEMO_PW"]), cache=True)
    for image in plate.images().values():
        image.read(0); image.read(1)
    store = open_location(url, auth=kit.BasicAuth("demo", os.environ["DEMO_PW"]),
                          cache=True).store
    async def all_keys():
        return await asyncio.gather(*(store.get(k, default_buffer_prototype()) for k in keys))
    got = run_sync(all_keys())
    print(json.dumps({k: hashlib.sha256(b.to_bytes()).hexdigest() for k, b in zip(keys, got)}))
""")


def test_concurrent_processes_read_the_origin_bytes_through_one_cache(serve, plate, tmp_path):
    srv = serve(plate, auth="basic", password=PASSWORD, latency=0.01)
    cache = tmp_path / "cache"
    want = origin_files(plate)
    keys = json.dumps(sorted(want))
    start = str(time.time() + 15.0)  # after every import, on a busy machine
    procs = [subprocess.Popen([sys.executable, "-c", READER, srv.url + "p.zarr", keys, start],
                              env=env(NGFF_KIT_CACHE=str(cache), DEMO_PW=PASSWORD),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1]) == want
    assert assert_whole_entries(cache) >= len(want)


WRITER = textwrap.dedent("""
    import sys
    from kit.cache.disk import DiskCache, Entry, entry_id
    disk = DiskCache(sys.argv[1], 10**10)
    i = 0
    while True:
        k = i % 6
        disk.write(entry_id("ns/", f"k{k}"), Entry(bytes([k]) * (8 << 20 | k)))
        i += 1
        if i == 6:
            print("ready", flush=True)
""")


def test_a_writer_killed_mid_write_leaves_no_torn_entry(tmp_path):
    cache = tmp_path / "cache"
    for attempt in range(2):  # kill at two different moments
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(cache)], env=env(),
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.07 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        assert assert_whole_entries(cache) == 6
        disk = DiskCache(cache, 10**10)
        for k in range(6):
            entry = disk.read(entry_id("ns/", f"k{k}"))
            assert entry == Entry(bytes([k]) * (8 << 20 | k)), k
    leftovers = [p for p in cache.rglob(TMP_PREFIX + "*")]
    for path in leftovers:  # a dead writer's temporary file: removed once stale
        os.utime(path, (1, 1))
    DiskCache(cache, 10**10).evict()
    assert not list(cache.rglob(TMP_PREFIX + "*"))
    assert assert_whole_entries(cache) == 6


def test_a_reader_killed_mid_read_leaves_entries_equal_to_the_origin(serve, plate, tmp_path):
    srv = serve(plate, auth="basic", password=PASSWORD, latency=0.05)
    cache = tmp_path / "cache"
    want = origin_files(plate)
    proc = subprocess.Popen([sys.executable, "-c", READER, srv.url + "p.zarr",
                             json.dumps(sorted(want)), "0"],
                            env=env(NGFF_KIT_CACHE=str(cache), DEMO_PW=PASSWORD),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    while time.time() < deadline and srv.count(lambda r: "/c/" in r.path) < 10:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert srv.count(lambda r: "/c/" in r.path) >= 10
    assert assert_whole_entries(cache) > 0
    result = run(READER, srv.url + "p.zarr", json.dumps(sorted(want)), "0",
                 NGFF_KIT_CACHE=str(cache), DEMO_PW=PASSWORD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == want


LESSON = textwrap.dedent("""
    import hashlib, os, sys
    import kit
    plate = kit.open(sys.argv[1], auth=kit.BasicAuth("demo", os.environ["DEMO_PW"]))
    image = next(iter(plate.images().values()))
    pixels = image.read(int(sys.argv[2]))
    print(type(plate).__name__, len(plate.images()), hashlib.sha256(pixels.tobytes()).hexdigest())
""")


def test_a_script_that_ran_once_runs_again_with_the_server_stopped(serve, plate, tmp_path):
    srv = serve(plate, auth="basic", password=PASSWORD, latency=0.02)
    cache = str(tmp_path / "cache")
    url = srv.url + "p.zarr"
    online = run(LESSON, url, "0", NGFF_KIT_CACHE=cache, DEMO_PW=PASSWORD)
    assert online.returncode == 0, online.stderr[-2000:]
    assert online.stdout.startswith("Plate 2 ")
    srv.stop()
    offline = run(LESSON, url, "0", NGFF_KIT_CACHE=cache, NGFF_KIT_OFFLINE="1",
                  DEMO_PW=PASSWORD)
    assert offline.returncode == 0, offline.stderr[-2000:]
    assert offline.stdout == online.stdout
    missing = run(LESSON, url, "1", NGFF_KIT_CACHE=cache, NGFF_KIT_OFFLINE="1",
                  DEMO_PW=PASSWORD)
    assert missing.returncode != 0
    assert "NotCached" in missing.stderr and "p.zarr/A/1/0/1/" in missing.stderr
    assert PASSWORD not in missing.stderr
