"""Migrating the test database back and forth, for tests of data migrations on rows stored
before them."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets=None):
    """To `targets`; by default to the newest migrations, as the other tests expect. Returns the
    apps registry as of the targets (historical models)."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps
