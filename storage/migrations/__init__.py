"""Alembic migrations for Parley's database (run by ``storage.db.run_migrations``)."""
