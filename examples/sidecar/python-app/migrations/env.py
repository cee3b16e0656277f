"""Alembic environment of the example shop: SQLite at $APP_DB, online only."""
import os

from alembic import context
from sqlalchemy import create_engine
from logging.config import fileConfig

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

url = "sqlite:///" + os.path.abspath(os.environ.get("APP_DB", "var/app.db"))
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
