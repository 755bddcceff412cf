"""python manage.py seed_reference: Greater Manchester reference data, safe to run again."""

from django.core.management.base import BaseCommand

from boards.seed import seed_boards
from budgets.ledger.services.profiles import seed_import_profiles
from budgets.seed import seed_service_areas, seed_years
from localities.roles import ensure_role_groups
from localities.seed import seed_localities, seed_organisations


class Command(BaseCommand):
    help = (
        "Load Greater Manchester reference data (localities, organisations, years, service "
        "areas, boards) and the import profiles that ship with gmhsc."
    )

    def handle(self, *args, **options):
        counts = {
            "role groups": ensure_role_groups(),
            "localities": seed_localities(),
            "organisations": seed_organisations(),
            "financial years": seed_years(),
            "service areas": seed_service_areas(),
            "boards": seed_boards(),
            "import profiles": seed_import_profiles(),
        }
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(self.style.SUCCESS("Reference data loaded."))
