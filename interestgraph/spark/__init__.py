"""Graph construction on Apache Spark (optional extra: ``pip install 'interestgraph[spark]'``, Java 17+).

>>> from interestgraph.model import ItemPathModel
>>> from interestgraph.spark import spark_session, build_interest_graph_spark, item_aggregates_spark
>>> spark = spark_session("local[4]")                      # or the session of spark-submit
>>> graph = build_interest_graph_spark("s3a://bucket/events/*.parquet", "catalog.parquet", spark=spark)
>>> graph.save("graphs/big")                               # the same directory the pandas build writes
>>> aggregates = item_aggregates_spark("s3a://bucket/events/*.parquet", graph, spark=spark)
>>> model = ItemPathModel().fit(graph, aggregates=aggregates)  # co-occurrence and transitions summed by Spark

See :mod:`interestgraph.spark.build` for what runs on the executors and what on
the driver, :mod:`interestgraph.spark.events` for the input contract, and :mod:`interestgraph.spark.item_item` for the
item–item path model's sums.
"""

from .build import build_interest_graph_spark, read_catalog, write_split_events
from .events import prepare_events, read_events
from .item_item import SparkItemAggregates, item_aggregates_spark
from .session import spark_session

__all__ = [
    "SparkItemAggregates",
    "build_interest_graph_spark",
    "item_aggregates_spark",
    "prepare_events",
    "read_catalog",
    "read_events",
    "spark_session",
    "write_split_events",
]
