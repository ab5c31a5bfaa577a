"""Storage for Parley: SQLModel tables, alembic migrations and the SQL implementation
of ``bot.ports.Repository`` (SQLite by default, PostgreSQL for several replicas)."""
