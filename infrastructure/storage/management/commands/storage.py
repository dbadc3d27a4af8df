"""`aigc storage check`: verify every File row against its object (present, right size, right SHA-256)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from infrastructure.storage.selectors import storage_check


class Command(BaseCommand):
    help = "Object storage maintenance. `check` verifies every file's object; non-zero exit when any is missing or corrupt."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        check = commands.add_parser("check", help="read every object back and compare it with its File rows")
        check.add_argument("--size-only", action="store_true", help="compare sizes only (fast; skips hashing)")

    def handle(self, *args, action: str, size_only: bool = False, **options):
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            disable=not sys.stderr.isatty(),
            transient=True,
        ) as progress:
            task = progress.add_task("Checking objects", total=None)
            report = storage_check(
                verify_hash=not size_only,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        for problem in report.problems:
            self.stdout.write(
                f"{problem.status.upper():8} {problem.key}  ({problem.detail}) files: "
                + ", ".join(f"{file_id} {filename!r}" for file_id, filename in problem.files)
            )
        for key in report.orphans:
            self.stdout.write(f"ORPHAN   {key}  (no file refers to it)")
        summary = (
            f"{report.objects_checked} objects of {report.files_checked} files checked: "
            f"{report.missing} missing, {report.corrupt} corrupt, {len(report.orphans)} unreferenced."
        )
        if report.problems:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
