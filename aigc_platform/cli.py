"""The `aigc` command: `aigc up` runs the embedded platform, `aigc worker` a worker for another
machine; anything else is a Django management command (`aigc migrate`, `aigc create-user`, …)."""

import argparse
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

console = Console(highlight=False)

DEFAULT_QUEUES = "default"


def _django_setup(data_dir: str | None) -> None:
    if data_dir:
        os.environ["AIGC_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
    import django

    django.setup()


def _prepare(console: Console) -> tuple[str, bool]:
    """Migrate, collect static files and make sure the admin account exists; returns its password if new."""
    from django.core.management import call_command

    from aigc_platform.accounts.services import admin_ensure

    with console.status("Migrating the database…"):
        call_command("migrate", interactive=False, verbosity=0)
    with console.status("Collecting static files…"):
        call_command("collectstatic", interactive=False, verbosity=0)
    with console.status("Registering the built-in generators…"):
        call_command("bootstrap_generators", verbosity=0)
    password = os.environ.get("AIGC_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    _, created = admin_ensure(password=password)
    return password, created


def _repair_broker_keys(console: Console, url: str, *, queues: set[str]) -> None:
    """Before any worker starts: keys of the Celery transport's that hold the wrong Redis type (a list
    named `unacked`, say) stop every worker at its next message, and the broker keeps them across
    restarts. They are renamed aside, never deleted, and the user is told."""
    import redis

    from aigc_platform.core.broker import broker_keys_repair

    with console.status("Checking the broker's keys…"):
        try:
            repaired = broker_keys_repair(url, queues=queues)
        except redis.RedisError as error:
            console.print(f"[yellow]Could not check the broker's keys: {error}[/]")
            return
    for wrong, target in repaired:
        console.print(
            f"[yellow]The broker's key {wrong.key!r} was a {wrong.found}, not the {wrong.expected} Celery keeps "
            f"there, which stops every worker: renamed to {target!r} (nothing deleted).[/]"
        )


def web_processes_default(settings) -> int:
    """One web process per core on PostgreSQL (at most 4, as deploy/ runs); one on the embedded SQLite,
    which takes one writer at a time, so more processes would only wait on each other's locks."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def cmd_up(args: argparse.Namespace) -> int:
    from aigc_platform import embedded

    if not embedded.port_is_free(args.host, args.port):
        console.print(f"[red]Port {args.port} on {args.host} is in use.[/] Choose another with --port.")
        return 2
    if args.data_dir:
        os.environ["AIGC_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    data_dir = Path(os.environ.get("AIGC_DATA_DIR", Path.home() / ".aigc")).expanduser().resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ, AIGC_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="aigc_platform.settings", PYTHONUNBUFFERED="1"
    )
    group = embedded.ProcessGroup(log_dir=log_dir)
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if not os.environ.get("CELERY_BROKER_URL"):
            with console.status("Starting the embedded Redis…"):
                env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"] = embedded.redis_start(
                    group, data_dir=data_dir, env=env
                )
        _django_setup(None)
        from django.conf import settings

        password, created = _prepare(console)
        _repair_broker_keys(
            console, env["CELERY_BROKER_URL"], queues={*args.queues.split(","), settings.GENERATION_QUEUE}
        )
        env["ALLOWED_HOSTS"] = os.environ.get("ALLOWED_HOSTS") or ",".join(
            sorted({*settings.ALLOWED_HOSTS, args.host if args.host not in ("0.0.0.0", "::") else "*"})
        )
        group.start(
            "web",
            embedded.python_module(
                "uvicorn",
                "aigc_platform.asgi:application",
                "--host",
                args.host,
                "--port",
                str(args.port),
                "--workers",
                str(args.web_processes or web_processes_default(settings)),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "5",
                # X-Forwarded-For is read by the platform, from AIGC_TRUSTED_PROXIES only
                "--no-proxy-headers",
            ),
            env=dict(env, DATABASE_POOL="true"),
        )
        group.start(
            "worker",
            embedded.python_module(*celery_worker_argv(args.queues, args.concurrency), "--hostname", "embedded@%h"),
            env=env,
            quiet=True,
        )
        # Generation jobs: one threads-pool worker, so concurrent requests share a batching engine per model.
        group.start(
            "inference",
            embedded.python_module(
                "celery",
                "-A",
                "aigc_platform",
                "worker",
                "--loglevel",
                "INFO",
                "-Q",
                settings.GENERATION_QUEUE,
                "--pool",
                "threads",
                "--concurrency",
                str(settings.INFERENCE_MAX_BATCH),
                "--hostname",
                "inference@%h",
            ),
            env=env,
            quiet=True,
        )
        group.start(
            "scheduler",
            embedded.python_module(
                "celery",
                "-A",
                "aigc_platform",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(data_dir / "celerybeat-schedule"),
            ),
            env=env,
            quiet=True,
        )
        embedded.wait_until(lambda: not embedded.port_is_free(args.host, args.port), timeout=30, what="The web server")
        host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
        console.print(f"\n[bold green]AIGC Platform is running at http://{host}:{args.port}/[/]")
        console.print(
            f"  database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}   broker: {env['CELERY_BROKER_URL']}"
        )
        console.print(f"  data directory: {data_dir}   logs: {log_dir}")
        if created:
            shown = "from AIGC_ADMIN_PASSWORD" if os.environ.get("AIGC_ADMIN_PASSWORD") else password
            console.print(f"  admin account: [bold]admin[/] / [bold]{shown}[/]  (shown once; keep it)")
        else:
            console.print("  admin account: [bold]admin[/] (password as set before)")
        console.print("  Press Ctrl-C to stop.\n")
        while not stopping:
            exited = group.first_exited()
            if exited is not None:
                console.print(
                    f"[red]The {exited.name} process stopped (exit {exited.popen.returncode}); see {log_dir}.[/]"
                )
                return 1
            time.sleep(0.5)
        return 0
    except (TimeoutError, OSError) as error:
        console.print(f"[red]{error}[/]")
        return 1
    finally:
        with console.status("Stopping…"):
            group.stop()
        console.print("Stopped.")


def celery_worker_argv(queues: str, concurrency: int) -> list[str]:
    """`python -m`'s arguments for a Celery worker of the platform on `queues` (`aigc up`'s and `aigc worker`'s)."""
    return [
        "celery",
        "-A",
        "aigc_platform",
        "worker",
        "--loglevel",
        "INFO",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
    ]


def cmd_worker(args: argparse.Namespace) -> int:
    """A worker alone, for another machine: it needs DATABASE_URL and CELERY_BROKER_URL."""
    argv = [*celery_worker_argv(args.queues, args.concurrency), "--pool", args.pool]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    if args.data_dir:
        os.environ["AIGC_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
    os.execv(sys.executable, [sys.executable, "-m", *argv])


def cmd_scheduler(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
    os.execv(sys.executable, [sys.executable, "-m", "celery", "-A", "aigc_platform", "beat", "--loglevel", "INFO"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aigc", description="The AIGC Platform.")
    sub = parser.add_subparsers(dest="command")

    up = sub.add_parser("up", help="Run the embedded platform: web server, worker, scheduler (and Redis).")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--data-dir", help="Where the database, objects and logs live (default ~/.aigc or AIGC_DATA_DIR).")
    up.add_argument("--queues", default=DEFAULT_QUEUES)
    up.add_argument("--concurrency", type=int, default=2)
    up.add_argument(
        "--web-processes",
        type=int,
        default=0,
        help="uvicorn worker processes (default: one per core, at most 4, on PostgreSQL; 1 on SQLite)",
    )
    up.set_defaults(func=cmd_up)

    worker = sub.add_parser("worker", help="Run a worker alone, against DATABASE_URL and CELERY_BROKER_URL.")
    worker.add_argument("--queues", default=DEFAULT_QUEUES)
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument(
        "--pool",
        default="prefork",
        choices=["prefork", "threads", "solo"],
        help="threads for the inference queue, so concurrent generations share one batching engine.",
    )
    worker.add_argument("--hostname", help="Celery node name, e.g. gpu1@%%h.")
    worker.add_argument("--data-dir")
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="Run the periodic scheduler alone (one per deployment).")
    scheduler.set_defaults(func=cmd_scheduler)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv and argv[0] not in {"up", "worker", "scheduler", "-h", "--help"}:
        from django.core.management import execute_from_command_line

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")
        execute_from_command_line(["aigc", argv[0].replace("-", "_"), *argv[1:]])
        return 0
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
