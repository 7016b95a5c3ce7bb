from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "gateway.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load and validate every connector now, so a broken plug-in stops start-up with
        # a message naming it instead of failing the first request that needs it.
        from django.core.exceptions import ImproperlyConfigured

        from gateway.registry import ConnectorError, registry

        try:
            registry()
        except ConnectorError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
