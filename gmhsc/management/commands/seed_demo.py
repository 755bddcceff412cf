"""python manage.py seed_demo: a realistic, deterministic demo year 2016/17. Safe to run again."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from gmhsc import demo


class Command(BaseCommand):
    help = "Load the 2016/17 demo year: users, funds, lines, phasing, spend, contracts, meetings."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, **options):
        call_command("seed_reference", stdout=self.stdout)
        for line in demo.seed_all():
            self.stdout.write(line)
        if not options["quiet_logins"]:
            self.stdout.write(demo.logins())
