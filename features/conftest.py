"""This repository's plain-language drill sentences (steps/) and fixtures (fixtures/)."""

from steps.seed import *  # noqa: F403 - pytest-bdd step fixtures must be visible here
