"""`aigc doctor`: checks every service a deployment needs and says, in words a person can act on,
what is wrong and how to fix it. Exit status 1 when anything is wrong.

Its checks are the health registry's deep ones (aigc_platform/core/health.py): each layer registers
its own there (object storage writes, reads back and deletes a probe; the workers say which queues
no one serves), so this command imports nothing from the layers above the spine.
"""

import io

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table

from aigc_platform.core.health import run_deep_checks


class Command(BaseCommand):
    help = (
        "Check the database, migrations, broker, secrets, object storage and workers; say what is wrong and how "
        "to fix it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rename the broker's keys of the wrong type aside (nothing is deleted), so workers can run.",
        )

    def handle(self, *args, **options):
        findings = run_deep_checks(repair=options["repair"])
        buffer = io.StringIO()
        tty = self.stdout.isatty()
        console = Console(file=buffer, force_terminal=tty, width=None if tty else 160, highlight=False)
        table = Table(title="AIGC Platform doctor", show_lines=True)
        table.add_column("check", style="bold")
        table.add_column("", justify="center")
        table.add_column("what it found")
        for finding in findings:
            table.add_row(finding.name, "[green]ok[/]" if finding.ok else "[red]FAIL[/]", finding.detail)
        console.print(table)
        problems = [finding for finding in findings if not finding.ok]
        if problems:
            console.print(f"\n[bold red]{len(problems)} problem{'s' if len(problems) > 1 else ''} to fix:[/]")
            for finding in problems:
                console.print(f"  [bold]{finding.name}[/] → {finding.fix or 'see above.'}")
        else:
            console.print("\n[bold green]Everything is working.[/]")
        self.stdout.write(buffer.getvalue(), ending="")
        if problems:
            raise SystemExit(1)
