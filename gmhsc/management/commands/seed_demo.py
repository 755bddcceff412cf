"""python manage.py seed_demo: a realistic, deterministic demo (2016/17 to year end and settled,
2017/18 to M6, 2018/19 in budget setting). Safe to run again.

`--fill-in` enqueues what can wait until the server is up (frozen month-end reports, the latest
month's files, board packs) by task name; `make run` runs it once the server answers.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from gmhsc import demo


class Command(BaseCommand):
    help = "Load the demo: users, funds, lines, spend, contracts, meetings, and the year cycle."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )
        parser.add_argument(
            "--fill-in",
            action="store_true",
            help="Enqueue the demo's month-end reports and board packs (after the server starts).",
        )

    def handle(self, *args, **options):
        if options["fill_in"]:
            for line in demo.fill_in():
                self.stdout.write(line)
            return
        call_command("seed_reference", stdout=self.stdout)
        for line in demo.seed_all():
            self.stdout.write(line)
        if not options["quiet_logins"]:
            self.stdout.write(demo.logins())
