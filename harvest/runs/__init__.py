"""Orchestration used by the CLI and by Airflow alike: plan, run, census, finish, retransform."""
