"""A Spark session for graph construction, and the two conversions between Spark and pandas.

``pyspark`` is an optional dependency (``pip install 'interestgraph[spark]'``,
Java 17+ on the machine); importing this module without it raises an
``ImportError`` that says how to install it.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping

import pandas as pd

try:
    import pyspark  # noqa: F401  (the ImportError below says how to install it)
    from pyspark.sql import DataFrame, SparkSession
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "interestgraph.spark needs pyspark: pip install 'interestgraph[spark]' (and Java 17 or newer)"
    ) from exc

#: settings every session made here gets (Arrow for the pandas conversions, no web UI)
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "true",
}


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "interestgraph",
    conf: Mapping[str, str] | None = None,
    log_level: str = "WARN",
) -> SparkSession:
    """Get or create a Spark session.

    Args:
        master: ``local[N]`` for local mode, ``spark://host:7077``, ``yarn``, ...;
            None keeps the master of an existing session (or of ``spark-submit``),
            else ``local[*]``.
        conf: more Spark settings (they win over :data:`DEFAULT_CONF`).
        log_level: the driver's log level.
    """
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_MASTER") and SparkSession.getActiveSession() is None:
        builder = builder.master("local[*]")
    settings = {
        **DEFAULT_CONF,
        "spark.sql.shuffle.partitions": str(max(2 * (os.cpu_count() or 1), 4)),
        **dict(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(log_level)
    return session


@contextlib.contextmanager
def _quiet_pandas_notice() -> Iterator[None]:
    """PySpark 4 warns on every conversion that pandas 3 is 'not yet fully supported' (and about pandas 3's
    deprecated ``copy=`` keyword it passes); the conversions used here (numbers, strings, booleans through Arrow)
    are checked by the equality tests, so pyspark's own warnings are silenced inside them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module=r"pyspark\.")
        yield


def to_pandas(frame: DataFrame) -> pd.DataFrame:
    """Collect a Spark DataFrame to the driver through Arrow."""
    with _quiet_pandas_notice():
        return frame.toPandas()


def from_pandas(spark: SparkSession, frame: pd.DataFrame, schema=None) -> DataFrame:
    """A Spark DataFrame of a (small) pandas table, through Arrow."""
    with _quiet_pandas_notice():
        return spark.createDataFrame(frame, schema=schema)
