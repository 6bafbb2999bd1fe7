"""Graph construction on Apache Spark (optional extra: ``pip install 'interestgraph[spark]'``, Java 17+).

>>> from interestgraph.spark import spark_session, build_interest_graph_spark
>>> spark = spark_session("local[4]")                      # or the session of spark-submit
>>> graph = build_interest_graph_spark("s3a://bucket/events/*.parquet", "catalog.parquet", spark=spark)
>>> graph.save("graphs/big")                               # the same directory the pandas build writes

See :mod:`interestgraph.spark.build` for what runs on the executors and what on
the driver, and :mod:`interestgraph.spark.events` for the input contract.
"""

from .build import build_interest_graph_spark, read_catalog, write_split_events
from .events import prepare_events, read_events
from .session import spark_session

__all__ = [
    "build_interest_graph_spark",
    "prepare_events",
    "read_catalog",
    "read_events",
    "spark_session",
    "write_split_events",
]
