"""The core conformance suite on Cloud Storage (fake-gcs-server)."""

from __future__ import annotations

import pytest

from cloudlease.testing.conformance import ConformanceSuite, StoreFactory
from tests.gcs.conftest import StoreMaker


class TestGCS(ConformanceSuite):
    @pytest.fixture
    def make_store(self, make_store: StoreMaker) -> StoreFactory:
        return make_store
