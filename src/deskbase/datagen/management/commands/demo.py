from django.core.management.base import BaseCommand

from deskbase.demo import DEMO_LOGINS, DEMO_SLUG, load_demo


class Command(BaseCommand):
    help = "Load the demo organization and its logins when the database holds no organization."

    def handle(self, *args, **options) -> None:
        created = load_demo()
        self.stdout.write("demo data loaded" if created else "database already has data; unchanged")
        self.stdout.write(f"organization: {DEMO_SLUG}")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<9} {login.email}  {login.password}")
