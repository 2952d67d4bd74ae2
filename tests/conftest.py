"""Fixtures; shared helpers live in helpers.py."""

import pytest
from helpers import CONFIG_DIR
from hydra import compose, initialize_config_dir

from harness.app import register_resolvers

register_resolvers()


@pytest.fixture
def make_cfg():
    """Compose the harness config as the CLI would; smoke scale and no W&B unless overridden."""

    def make(*overrides, scale="smoke", logger="none"):
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose("config", overrides=[f"scale={scale}", f"logger={logger}", *overrides])

    return make
