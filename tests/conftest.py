import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test featurizes into its own cache folder, never the user's."""
    monkeypatch.setenv("GNN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one); run with -m cuda on a GPU machine")
