"""gosc-harvest: OAI-PMH harvesting, crosswalks to Parquet and a consolidated cross-regional index.

A plain library: it never imports Airflow. DAGs in dags/ are thin wiring over it.
"""

__version__ = "0.1.0"


def read_index(data=None):
    """The current published index as a pandas DataFrame (see harvest.publish.access)."""
    from harvest.publish.access import read_index as _read

    return _read(data)


__all__ = ["__version__", "read_index"]
