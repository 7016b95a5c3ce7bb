from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "gateway.delivery"
    label = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the after-commit hook that hands new outbox rows to workers.
        from gateway.delivery import dispatch  # noqa: F401
