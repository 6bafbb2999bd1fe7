"""The Spark session the Spark tests share (local mode, two cores), and the rule for a machine without Spark:
without pyspark or Java the tests skip, except under ``CI=true``, where that is a failure."""

from __future__ import annotations

import os
import shutil

import pytest

try:
    import pyspark
except ImportError:
    pyspark = None


def _need(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"CI=true but {what}: the README's test command installs interestgraph[spark]; Java 17+ must be on the "
            "machine"
        )
    pytest.skip(what)


@pytest.fixture(scope="session")
def spark():
    if pyspark is None:
        _need("pyspark is not installed (pip install 'interestgraph[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _need("no Java on PATH or JAVA_HOME")
    from interestgraph.spark import spark_session

    session = spark_session(
        "local[2]",
        conf={
            "spark.sql.shuffle.partitions": "4",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "2g",
        },
    )
    yield session
    session.stop()
