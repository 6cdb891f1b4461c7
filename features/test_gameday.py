"""The seed game day: every scenario in this directory's feature files is one drill."""

from pytest_bdd import scenarios

scenarios(".")
