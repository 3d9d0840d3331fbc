LEGACY_ALIAS = "legacy"


class LegacyDatabaseRouter:
    """The legacy customer database belongs to its connector: no Django table is ever migrated into it."""

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool | None:
        if db == LEGACY_ALIAS:
            return False
        return None
