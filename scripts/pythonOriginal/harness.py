"""Runs src/charm.py as `dispatch` would, with one adaptation to the benchmark's hook tools (never shipped).

The hook tools of the example's process-test harness (`InMemoryHookTools` in a Node process) read `relation-set
--file -` as the JSON subset of YAML, and `ops` writes YAML (`yaml.safe_dump`). Juju reads both alike (JSON is
YAML), so `ops` still dumps the YAML (its cost stays in the hook) and sends the same data as JSON.
"""

import json
import os
import runpy

import ops.model
import yaml


class _JsonSettings:
    """`ops.model`'s `yaml`, whose `safe_dump` pays for the YAML and returns the same map as JSON."""

    def __getattr__(self, name):
        return getattr(yaml, name)

    @staticmethod
    def safe_dump(data, *args, **kwargs):
        yaml.safe_dump(data, *args, **kwargs)
        return json.dumps(data)


ops.model.yaml = _JsonSettings()
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "src", "charm.py"), run_name="__main__")
