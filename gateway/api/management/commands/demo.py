"""``python manage.py demo``: see gateway/demo.py."""

from django.core.management.base import BaseCommand, CommandParser

from gateway import demo


class Command(BaseCommand):
    help = "Run the gateway with the partner simulators and walk through every partner flow."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, port: int, **options: object) -> None:
        demo.run(port=port)
