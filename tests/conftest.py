"""Fixtures: the canonical small graphs."""

import os

import pytest
from hypothesis import settings

from pebble_sched import Graph
from pebble_sched.graph import Buffer

settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
# HYPOTHESIS_PROFILE=thorough for a long hunt before a release
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chain():
    """a -> b -> c with sizes 1, 2, 3 (peak 5)."""
    return Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])


@pytest.fixture(scope="session")
def fork():
    """a -> {b, c} with sizes 4, 1, 1 (peak 5; 6 with keep_outputs)."""
    return Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])


@pytest.fixture(scope="session")
def diamond():
    """a -> {b, c} -> d."""
    return Graph(
        list("abcd"),
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        size=[2, 3, 4, 1],
    )


@pytest.fixture(scope="session")
def graph_input():
    """An input of size 10 read by a and b (sizes 1): peak 11."""
    return Graph(
        ["a", "b"],
        size=[1, 1],
        buffers=[Buffer("input0", None, 10, ("a", "b"))],
    )
