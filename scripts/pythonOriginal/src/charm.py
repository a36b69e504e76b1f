#!/usr/bin/env python3
"""The example charm (examples/upgrade-demo, machines) on the Python original, for a like-for-like benchmark.

What examples/upgrade-demo does, with `charms.data_platform_libs.v0.upgrade` (LIBPATCH 19) under `ops`:

- `install`: installs the workload version of this revision (the file `workload-version` in the workload
  directory) and reports it with `application-version-set`;
- `pre-upgrade-check` refuses with a `ClusterNotReadyError` while `fail-precheck` exists in the workload
  directory; the upgrade stack is this unit (the leader, which runs the action) at the bottom and the other
  units highest number first;
- a granted upgrade installs the new version and reports it, or fails while `fail-upgrade` exists; as the
  library's documentation asks, the leader then runs `on_upgrade_changed` itself.

Run by scripts/benchPythonOriginal.ts through the example's process-test harness (its hook tools); never shipped.
"""

import json
import logging
import os
from pathlib import Path

import ops
from charms.data_platform_libs.v0.upgrade import (
    ClusterNotReadyError,
    DataUpgrade,
    DependencyModel,
    UpgradeGrantedEvent,
)
from pydantic.v1 import BaseModel

logger = logging.getLogger(__name__)

CHARM_DIR = Path(__file__).resolve().parent.parent
DEPENDENCIES = json.loads((CHARM_DIR / "dependencies.json").read_text())
VERSION = DEPENDENCIES["workload"]["version"]


def workload_dir() -> Path:
    """The workload directory: `$CHARM_WORKLOAD_DIR`, else `workload/` beside the charm directory (as the demo)."""
    return Path(os.environ.get("CHARM_WORKLOAD_DIR") or CHARM_DIR.parent / "workload")


def install(version: str) -> None:
    """Install the workload: record its version, as the demo's `Workload.install` does."""
    directory = workload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "workload-version").write_text(f"{version}\n")


class DemoDependencies(BaseModel):
    """The demo's DEPENDENCIES: one key, `workload`."""

    workload: DependencyModel


class DemoUpgrade(DataUpgrade):
    """The demo's overrides of the library's `DataUpgrade`."""

    def pre_upgrade_check(self) -> None:
        marker = workload_dir() / "fail-precheck"
        if marker.exists():
            raise ClusterNotReadyError(
                message=f"Workload is not ready for an upgrade: {marker} exists",
                cause="the demo refuses the pre-upgrade check while its fail-precheck marker exists",
                resolution=f"remove {marker}, then run pre-upgrade-check again",
            )

    def build_upgrade_stack(self) -> list[int]:
        others = sorted(int(unit.name.split("/")[1]) for unit in self.peer_relation.units)
        # The last element upgrades first: the other units highest number first, this unit (the leader) last.
        return [int(self.charm.unit.name.split("/")[1]), *others]

    def log_rollback_instructions(self) -> None:
        logger.critical("Upgrade failed. To roll back: run pre-upgrade-check on the leader, then juju refresh")

    def _on_upgrade_granted(self, event: UpgradeGrantedEvent) -> None:
        if (workload_dir() / "fail-upgrade").exists():
            self.set_unit_failed(f"Upgrade of {self.charm.unit.name} to {VERSION} failed")
            return
        install(VERSION)
        self.charm.unit.set_workload_version(VERSION)
        self.set_unit_completed()
        # The library's documentation: the leader runs on_upgrade_changed itself, so its own grant is not lost.
        if self.charm.unit.is_leader():
            self.on_upgrade_changed(event)


class DemoCharm(ops.CharmBase):
    """The upgrade demo on the Python library."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.upgrade = DemoUpgrade(
            self,
            dependency_model=DemoDependencies(**DEPENDENCIES),
            relation_name="upgrade",
            substrate="vm",
        )
        framework.observe(self.on.install, self._on_install)

    def _on_install(self, _: ops.InstallEvent) -> None:
        install(VERSION)
        self.unit.set_workload_version(VERSION)


if __name__ == "__main__":
    ops.main(DemoCharm)
