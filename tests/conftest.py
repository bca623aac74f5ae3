"""Fixtures shared by several test modules."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

from timeline import engines

# --- engine: the query layer's tests run once per engine ---------------------------------------------

REQUIRE_SPARK_VARIABLE = "TIMELINE_TEST_REQUIRE_SPARK"
SPARK_MASTER = "local[2]"  # the machine's two cores
SPARK_SHUFFLE_PARTITIONS = "4"  # the default 200 tasks per shuffle is for clusters, not a few test rows


@pytest.fixture(scope="session", params=engines.ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[engines.Engine]:
    """An Engine of each kind: DuckDB embedded, then Spark in local mode; one of each for the whole run.

    Spark needs PySpark (requirements-spark.txt, which `make test` installs) and Java 17 or later; without
    them its tests are skipped with the reason, so a page-only install can still run the DuckDB half.
    """
    kind = request.param
    if kind == "spark":
        # `make test` (and so CI) requires Spark: there a missing PySpark or Java fails instead of skipping.
        missing = pytest.fail if os.environ.get(REQUIRE_SPARK_VARIABLE) == "1" else pytest.skip
        if importlib.util.find_spec("pyspark") is None:
            missing("PySpark is not installed: pip install -r requirements-spark.txt (make test does)")
        if shutil.which("java") is None:
            missing("Spark needs Java 17 or later: apt-get install -y openjdk-17-jre-headless")
    engine = engines.connect(engines.EngineSettings(kind=kind, spark_master=SPARK_MASTER))
    if kind == "spark":
        session = engine.backend()._session
        session.sparkContext.setLogLevel("ERROR")
        session.conf.set("spark.sql.shuffle.partitions", SPARK_SHUFFLE_PARTITIONS)
    yield engine
    engine.close()
