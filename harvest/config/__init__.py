"""Where the pipeline starts: partner configs (sources, field maps), credentials, settings and
the declared table schemas. Imports nothing else of the library."""

from harvest.config.credentials import Credentials
from harvest.config.sources import Politeness, Source, TaskSettings, check_sources, load_source, load_sources

__all__ = ["Credentials", "Politeness", "Source", "TaskSettings", "check_sources", "load_source", "load_sources"]
