from django.apps import AppConfig
from django.core import checks


class MerchantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "merchants"

    def ready(self):
        # The kernel (flextracker/) is no app: the lowest app registers its checks.
        from flextracker.ratelimit import check_cache_is_shared

        checks.register(check_cache_is_shared, checks.Tags.caches, deploy=True)
