"""`manage.py spectacular` writes the YAML that /api/schema/ serves (flextracker.openapi):
drf-spectacular's own command writes the exception code '008' bare, which a YAML 1.2 reader such
as openapi-python-client's takes for the number 8, and then drops the operations that use it."""

from drf_spectacular.management.commands.spectacular import Command as SpectacularCommand

from flextracker.openapi import Yaml12SafeRenderer


class Command(SpectacularCommand):
    def get_renderer(self, format):
        if format == "openapi":
            return Yaml12SafeRenderer()
        return super().get_renderer(format)
