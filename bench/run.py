"""The `make bench` harness: real parts on loopback, every bench/bench_*.py module, one summary.

scripts/bench.sh starts PostgreSQL and Redis and calls this with DATABASE_URL / REDIS_URL set.
This script then
  1. migrates and loads reference and demo data (idempotent),
  2. starts a Celery worker and gunicorn on a free loopback port (own process groups),
  3. runs each bench/bench_*.py module in its own Python process (a crash in one does not stop
     the others, and each gets a clean Django setup): boards, ledger_import, lines_page,
     recompute, reports and years (budget setting and year end at 10,000 lines),
  4. stops the worker and gunicorn by pid, also on failure or Ctrl+C,
  5. writes bench/results/summary.json: machine (nproc, memory, CPU model, PostgreSQL and Redis
     versions), the run's parameters, and each module's result or error.

Module interface (for helpers writing bench/bench_<area>.py):
    def run(context: dict) -> dict
context keys: database_url, redis_url, base_url (gunicorn, already serving), results_dir,
size ("default"|"large"), postings (1,000,000 or 10,000,000), budget_lines (10,000),
pg_port, redis_port, svc_base, worker_pid, web_pid, demo_password.
Return a JSON-serialisable dict of figures, ideally {"figures": [{"name", "value", "unit",
"target", "met", "reference"?}], ...}; the harness writes it to bench/results/<area>.json.
A module without run() is executed as a script (`main()`); it must write its own
bench/results/<area>.json, which the harness then collects.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_probe_ms() -> float:
    """A fixed pure-Python workload (Decimal sums and text formatting), timed: the same code takes
    noticeably longer on a busy or throttled virtual machine, so each module's figures come with
    the probe taken just before it. Best of three, in ms."""
    from decimal import Decimal

    timings = []
    for _ in range(3):
        t = time.perf_counter()
        total = Decimal(0)
        parts = []
        for n in range(200_000):
            total += Decimal(n) / 100
            if n % 10 == 0:
                parts.append(str(total))
        timings.append((time.perf_counter() - t) * 1000)
    return round(min(timings), 1)


def machine(database_url: str, redis_url: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(
            next(line for line in meminfo.splitlines() if line.startswith("MemTotal")).split()[1]
        )
        info["memory_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        info["memory_gib"] = None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or None,
        )
    except OSError:
        info["cpu_model"] = platform.processor() or None
    try:
        import psycopg

        with psycopg.connect(database_url, connect_timeout=5) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            info["postgresql_settings"] = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("shared_buffers", "fsync", "synchronous_commit", "max_connections")
            }
    except Exception as exc:
        info["postgresql"] = f"unavailable: {exc}"
    try:
        import redis

        info["redis"] = redis.Redis.from_url(redis_url).info()["redis_version"]
    except Exception as exc:
        info["redis"] = f"unavailable: {exc}"
    try:
        import django

        info["django"] = django.get_version()
    except ImportError:
        info["django"] = None
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    return info


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group we started, by its leader's pid
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answers (503 while the worker warms up is fine)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def discover(only: list[str]) -> list[Path]:
    modules = sorted(BENCH.glob("bench_*.py"))
    if only:
        modules = [m for m in modules if m.stem in only or m.stem.removeprefix("bench_") in only]
    return modules


def area(module: Path) -> str:
    return module.stem.removeprefix("bench_")


def run_child(module_path: str, context_path: str) -> int:
    """In the child process: import the module and call run(context) or main()."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
    import django

    django.setup()  # modules import models at call time; the app registry must be ready
    context = json.loads(Path(context_path).read_text())
    spec = importlib.util.spec_from_file_location(Path(module_path).stem, module_path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {module_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(context["results_dir"]) / f"{area(Path(module_path))}.json"
    if hasattr(module, "run"):
        result = module.run(context)
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    elif hasattr(module, "main"):
        module.main()
    else:
        raise SystemExit(f"{module_path} has neither run(context) nor main()")
    return 0


def wait_quiet(database_url: str, timeout: float = 600) -> None:
    """bench/quiet.py's wait, over its own connection (the harness does not set up Django)."""
    import psycopg

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quiet import wait_quiet as wait

    with psycopg.connect(database_url, autocommit=True) as conn:

        def count(sql: str) -> int:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row is not None else 0

        wait(count, timeout)


def vacuum_analyze(database_url: str) -> float:
    """VACUUM ANALYZE the freshly seeded and recomputed database, as a DBA would after a bulk load,
    so autovacuum does not pick the new tables up in the middle of the first module's measurement
    (the boards module runs first). Seconds."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.monotonic() - started, 1)


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return round(total / 1024, 1)


class PeakMemory(threading.Thread):
    """Samples the web and worker process trees twice a second; keeps each one's peak."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_mib = dict.fromkeys(pids, 0.0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for name, pid in self.pids.items():
                self.peak_mib[name] = max(self.peak_mib[name], tree_rss_mib(pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="10,000,000 postings")
    parser.add_argument("--only", nargs="*", default=[], help="module names (bench_x or x)")
    parser.add_argument("--pg-port", default="")
    parser.add_argument("--redis-port", default="")
    parser.add_argument("--svc-base", default="")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODULE", "CONTEXT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(*args.child)

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        raise SystemExit(
            "bench/run.py: run it through `make bench` (needs DATABASE_URL and REDIS_URL)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = Path(args.svc_base or "/tmp") / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    started_at = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()

    if not args.skip_seed:
        manage("migrate", "--noinput", "-v", "0")
        manage("seed_demo")

    worker = web = None
    modules_report: dict[str, Any] = {}
    try:
        worker = start(
            [
                PY,
                "-m",
                "celery",
                "-A",
                "gmhsc",
                "worker",
                "-Q",
                "default,recompute,imports,exports",
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
                "-n",
                "bench@%h",
            ],
            logs / "worker.log",
        )
        port = free_port()
        web = start(
            [
                PY,
                "-m",
                "gunicorn",
                "gmhsc.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(max(2, (os.cpu_count() or 2))),
                "--timeout",
                "300",
            ],
            logs / "gunicorn.log",
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_http(f"{base_url}/health/")
        context = {
            "database_url": database_url,
            "redis_url": redis_url,
            "base_url": base_url,
            "results_dir": str(RESULTS),
            "size": "large" if args.large else "default",
            "postings": 10_000_000 if args.large else 1_000_000,
            "budget_lines": 10_000,
            "pg_port": args.pg_port,
            "redis_port": args.redis_port,
            "svc_base": args.svc_base,
            "worker_pid": worker.pid,
            "web_pid": web.pid,
            "demo_password": os.environ.get("GMHSC_DEMO_PASSWORD", "gm-demo-pass-2016"),
        }
        sampler = PeakMemory({"web": web.pid, "worker": worker.pid})
        sampler.start()
        context_file = logs / "context.json"
        context_file.write_text(json.dumps(context, indent=2))
        env = dict(
            os.environ,
            GMHSC_BENCH_CONTEXT=str(context_file),
            GMHSC_BENCH_SIZE=context["size"],
            GMHSC_BENCH_BASE_URL=base_url,
        )
        if not args.skip_seed:
            wait_quiet(database_url)  # the worker recomputes the seeded funds first
            seconds = vacuum_analyze(database_url)
            print(f"bench: VACUUM ANALYZE after seeding took {seconds} s", flush=True)
        for module in discover(args.only):
            wait_quiet(database_url)
            name = area(module)
            out = RESULTS / f"{name}.json"
            before = out.stat().st_mtime if out.exists() else None
            probe = cpu_probe_ms()
            print(f"\n== {module.name} (CPU probe {probe} ms)", flush=True)
            m0 = time.monotonic()
            proc = subprocess.run(
                [PY, str(Path(__file__).resolve()), "--child", str(module), str(context_file)],
                cwd=ROOT,
                env=env,
                check=False,
            )
            seconds = round(time.monotonic() - m0, 1)
            entry: dict[str, Any] = {
                "module": module.name,
                "seconds": seconds,
                "exit_code": proc.returncode,
                "cpu_probe_ms": probe,
            }
            fresh = out.exists() and out.stat().st_mtime != before
            if fresh:
                try:
                    entry["result"] = json.loads(out.read_text())
                except json.JSONDecodeError as exc:
                    entry["error"] = f"{out.name} is not JSON: {exc}"
            if proc.returncode != 0:
                entry["error"] = entry.get("error") or f"exited with {proc.returncode}"
            elif not fresh:
                entry["error"] = f"wrote no {out.relative_to(ROOT)}"
            modules_report[name] = entry
        sampler.done.set()
        modules_report["memory"] = {
            "module": "run.py",
            "result": {
                "figures": [
                    {
                        "name": f"peak resident memory, {name} (all processes)",
                        "value": peak,
                        "unit": "MiB",
                    }
                    for name, peak in sampler.peak_mib.items()
                ]
            },
        }
    except Exception:
        modules_report["_harness"] = {"error": traceback.format_exc()}
    finally:
        stop(web)
        stop(worker)

    if args.only and (RESULTS / "summary.json").exists():
        # A partial run (--only) updates its modules in the last full summary and keeps the rest.
        earlier = json.loads((RESULTS / "summary.json").read_text()).get("modules", {})
        modules_report = {**earlier, **modules_report}
    summary = {
        "started_at": started_at.isoformat(),
        "seconds": round(time.monotonic() - t0, 1),
        "size": "large" if args.large else "default",
        "machine": machine(database_url, redis_url),
        "modules": modules_report,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    failed = [name for name, entry in modules_report.items() if "error" in entry]
    print(
        f"\nbench: {len(modules_report)} modules in {summary['seconds']} s; "
        f"summary in {(RESULTS / 'summary.json').relative_to(ROOT)}"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
