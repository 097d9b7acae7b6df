"""A serving process freezes what start-up created and collects its first generation less often (decision 0062)."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from app.core import runtime


def test_start_up_objects_are_frozen_and_the_first_generation_collects_less_often(app: FastAPI) -> None:
    # `app` has run its lifespan start-up: the serving process is as it is when requests arrive.
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == runtime.FIRST_GENERATION_THRESHOLD


def test_later_garbage_is_still_collected(app: FastAPI) -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    Node()  # a reference cycle: only the cyclic collector frees it
    assert gc.collect() >= 1
