"""Persistence: SQLAlchemy 2.0 models, queries, Alembic migrations and fixture loading."""
