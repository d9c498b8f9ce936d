"""A class of students against the classroom relay (``ngff-kit serve --mirror``), on this machine.

The upstream is the kit's ``DemoServer`` (HTTP Basic, 50 ms added to every request) serving the
demo plate; the relay runs as its own process (``python -m kit.cli serve --mirror ...``, the
command a teacher types) with a tokens file; each student is a separate process that logs in
with their token and does a lesson: open the plate, preview a field, read one table, open a
second well. Student processes start (and import the kit) before the clock starts, then each
begins its lesson at its arrival time.

Runs, each on a fresh relay with an empty persistent cache (``--cache DIR``) unless said:
  one      one student alone (what one student costs the upstream through a relay)
  class    N students arriving over --arrival seconds (default 30 over 60 s)
  warm     the same class again on the same relay (memory and disk warm), arriving in --burst s
  restart  the same class again on a new relay process over the class's cache folder (the
           documents are revalidated once: conditional requests, answered 304)
  burst    N students within --burst seconds (default 5 s) on a fresh relay
  direct   N students straight to the upstream, no relay, within --burst seconds (and one alone)

Measured: errors, open-to-preview p50/p95, upstream requests per run (counted on the upstream's
own request log), the relay process's CPU (its own ``time.process_time``, from its status page)
per student request, and the students' CPU apart.

    python benchmarks/classroom.py                 # the full class (about 5 minutes here)
    python benchmarks/classroom.py --quick         # small plate, 3 students (a smoke run)
    python benchmarks/classroom.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UP_USER, UP_PASSWORD = "instructor", secrets.token_urlsafe(12)
LATENCY = 0.05


# -- the student (a separate process) -------------------------------------------------------


def student_main() -> None:
    """Import the kit, say "ready", then do one lesson per command line read from stdin."""
    import kit  # imported before the clock starts, as a kernel would have
    import kit.render  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        task = json.loads(line)
        if task.get("quit"):
            return
        print(json.dumps(lesson(task)), flush=True)


def lesson(task: dict) -> dict:
    import kit

    delay = task["at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    cpu0, t0 = time.process_time(), time.perf_counter()
    result: dict[str, Any] = {"error": None}
    try:
        kind, *secret = task["auth"]
        auth = kit.BearerToken(secret[0]) if kind == "bearer" else kit.BasicAuth(*secret)
        plate = kit.open(task["url"], auth=auth)
        wells = plate.well_paths
        image = plate.well(wells[0]).images["0"]
        picture = kit.preview(image)
        result["open_to_preview"] = time.perf_counter() - t0
        result["preview_shape"] = list(picture.shape)
        table = image.tables["nuclei_features"].to_pandas()
        result["table_rows"] = len(table)
        second = plate.well(wells[-1]).images["0"]
        result["second_levels"] = len(second.levels)
    except Exception as exc:  # noqa: BLE001 - counted and reported, the class goes on
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
    result["seconds"] = time.perf_counter() - t0
    result["cpu"] = time.process_time() - cpu0
    return result


class Students:
    """N student processes, started (and their imports done) before any lesson begins."""

    def __init__(self, n: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH",
                                                                                   "")}
        self.procs = [subprocess.Popen([sys.executable, __file__, "--student"], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                      for _ in range(n)]
        for p in self.procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"

    def run(self, url: str, auths: list[list[str]], window: float, seed: int) -> list[dict]:
        """Every student's lesson, arrivals spread at random over ``window`` seconds."""
        rng = random.Random(seed)
        start = time.time() + 1.0
        for p, auth in zip(self.procs, auths, strict=False):
            assert p.stdin is not None
            task = {"url": url, "auth": auth, "at": start + rng.uniform(0, window)}
            p.stdin.write(json.dumps(task) + "\n")
            p.stdin.flush()
        results = []
        for p in self.procs[:len(auths)]:
            assert p.stdout is not None
            results.append(json.loads(p.stdout.readline()))
        return results

    def close(self) -> None:
        for p in self.procs:
            try:
                assert p.stdin is not None
                p.stdin.write(json.dumps({"quit": True}) + "\n")
                p.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 120
        for p in self.procs:
            try:
                p.wait(max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                p.kill()


# -- the relay (a separate process, started as a teacher does) ------------------------------


class RelayProcess:
    def __init__(self, upstream_url: str, tokens_file: Path, log: Path, cache: Path) -> None:
        env = {**os.environ, "UPSTREAM_PW": UP_PASSWORD,
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit.cli", "serve", "--mirror", upstream_url,
             "--upstream-user", UP_USER, "--upstream-password-env", "UPSTREAM_PW",
             "--students", str(tokens_file), "--port", "0", "--access-log", str(log),
             "--cache", str(cache)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        self.url = first.split(" at ")[1].split()[0]
        self.token = tokens_file.read_text().split()[1]

    def status(self) -> dict:
        req = urllib.request.Request(self.url + "_relay/status?format=json",
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def wait_ready(self, timeout: float = 900) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["consolidated_metadata"].startswith("ready"):
                return status
            time.sleep(0.2)
        raise RuntimeError("the relay did not build its consolidated metadata in time")

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


# -- the runs ----------------------------------------------------------------------------------


def summary(results: list[dict]) -> dict:
    times = sorted(r["open_to_preview"] for r in results if r.get("open_to_preview"))
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else None
    return {
        "students": len(results),
        "errors": [r["error"] for r in results if r["error"]],
        "open_to_preview_p50_s": round(statistics.median(times), 3) if times else None,
        "open_to_preview_p95_s": round(p95, 3) if p95 is not None else None,
        "lesson_max_s": round(max(r["seconds"] for r in results), 3),
        "student_cpu_mean_s": round(statistics.mean(r["cpu"] for r in results), 3),
    }


def relay_run(students: Students, upstream, relay: RelayProcess, auths: list[list[str]],
              window: float, seed: int) -> dict:
    before, up_before = relay.status(), upstream.count()
    results = students.run(relay.url, auths, window, seed)
    after = relay.status()
    not_modified = sum(r.status == 304 for r in upstream.requests[up_before:])
    requests = after["requests"] - before["requests"] - 1  # minus the status request itself
    cpu = after["cpu_s"] - before["cpu_s"]
    return {**summary(results), "upstream_requests": upstream.count() - up_before,
            "upstream_304": not_modified,
            "relay_requests": requests, "relay_cpu_s": round(cpu, 3),
            "relay_cpu_ms_per_request": round(1000 * cpu / max(requests, 1), 3),
            "hit_rate": after["hit_rate"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="a small plate, 3 students, 3 s arrival, 1 s burst (smoke run)")
    parser.add_argument("--students", type=int, help="class size (default 30; quick 5)")
    parser.add_argument("--arrival", type=float, help="arrival window, s (default 60; quick 5)")
    parser.add_argument("--burst", type=float, help="burst window, s (default 5; quick 2)")
    parser.add_argument("--json", metavar="FILE", help="write the results here too")
    args = parser.parse_args()
    if args.student:
        student_main()
        return 0
    n = args.students or (3 if args.quick else 30)
    arrival = args.arrival if args.arrival is not None else (3.0 if args.quick else 60.0)
    burst = args.burst if args.burst is not None else (1.0 if args.quick else 5.0)

    sys.path.insert(0, str(ROOT))
    from kit.demo.generate import sample_dataset, write_plate
    from kit.demo.server import DemoServer

    def save(phase: str) -> None:
        print(f"classroom: {phase} done", file=sys.stderr, flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))

    out: dict[str, Any] = {"students": n, "arrival_s": arrival, "burst_s": burst,
                           "upstream_latency_s": LATENCY, "cpus": os.cpu_count(),
                           "relay_cache": "--cache DIR (disk) under a 64 MiB memory hot layer"}
    with tempfile.TemporaryDirectory(prefix="ngff-kit-classroom-") as tmp_name:
        tmp = Path(tmp_name)
        if args.quick:  # two wells of small fields: the same lesson, a shorter walk
            plate = write_plate(tmp / "plate.zarr", version="0.4", rows="B",
                                columns=("03", "05"), image_kwargs={"tables": True})
        else:
            plate = sample_dataset(tmp / "plate.zarr", version="0.4")
        tokens = {f"student{i:02d}": secrets.token_urlsafe(12) for i in range(n)}
        tokens_file = tmp / "tokens.txt"
        tokens_file.write_text("".join(f"{k} {v}\n" for k, v in tokens.items()))
        auths = [["bearer", t] for t in tokens.values()]
        t0 = time.perf_counter()
        students = Students(n)
        out["student_startup_s"] = round(time.perf_counter() - t0, 1)
        save("student start-up")
        upstream = DemoServer(plate, auth="basic", username=UP_USER, password=UP_PASSWORD,
                              latency=LATENCY).start()
        try:
            def fresh_relay(name: str, cache: str | None = None) -> tuple[RelayProcess, dict]:
                start_count = upstream.count()
                relay = RelayProcess(upstream.url, tokens_file, tmp / f"{name}.log",
                                     tmp / f"cache-{cache or name}")
                t = time.perf_counter()
                status = relay.wait_ready()
                return relay, {"consolidate_s": round(time.perf_counter() - t, 2),
                               "consolidate_upstream_requests": upstream.count() - start_count,
                               "consolidate_relay_cpu_s": status["cpu_s"]}

            relay, walk = fresh_relay("one")
            one = relay_run(students, upstream, relay, auths[:1], 0.0, 1)
            out["one"] = {**one, **walk,
                          "upstream_total": one["upstream_requests"]
                          + walk["consolidate_upstream_requests"]}
            relay.stop()
            save("one")

            relay, walk = fresh_relay("class")
            cls = relay_run(students, upstream, relay, auths, arrival, 2)
            out["class"] = {**cls, **walk, "upstream_total": cls["upstream_requests"]
                            + walk["consolidate_upstream_requests"]}
            out["warm"] = relay_run(students, upstream, relay, auths, burst, 3)
            relay.stop()
            save("class")

            relay, walk = fresh_relay("restart", cache="class")
            rst = relay_run(students, upstream, relay, auths, burst, 7)
            out["restart"] = {**rst, **walk, "upstream_total": rst["upstream_requests"]
                              + walk["consolidate_upstream_requests"]}
            relay.stop()
            save("restart")

            relay, walk = fresh_relay("burst")
            bst = relay_run(students, upstream, relay, auths, burst, 4)
            out["burst"] = {**bst, **walk, "upstream_total": bst["upstream_requests"]
                            + walk["consolidate_upstream_requests"]}
            relay.stop()
            save("burst")

            direct_auth = [["basic", UP_USER, UP_PASSWORD]]
            before = upstream.count()
            one_direct = summary(students.run(upstream.url, direct_auth, 0.0, 5))
            out["direct_one"] = {**one_direct, "upstream_requests": upstream.count() - before}
            save("direct_one")
            before = upstream.count()
            direct = summary(students.run(upstream.url, direct_auth * n, burst, 6))
            out["direct"] = {**direct, "upstream_requests": upstream.count() - before}
        finally:
            students.close()
            upstream.stop()
    out["class_vs_one_student"] = round(out["class"]["upstream_total"]
                                        / out["one"]["upstream_total"], 3)
    out["class_vs_one_student_direct"] = round(out["class"]["upstream_total"]
                                               / out["direct_one"]["upstream_requests"], 3)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
