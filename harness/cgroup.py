"""One sandbox slot's memory and pids cgroups, v1 (two hierarchies) or v2 (one directory), under
/sys/fs/cgroup/.../ferrite-harness/. Writing there needs root; sandbox.py probes whether it may."""

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _write(path: Path, value) -> bool:
    try:
        Path(path).write_text(str(value))
        return True
    except OSError:
        return False


class Cgroup:
    """The cgroups of one slot (`slot-N`) or of a probe (any other name), created when missing."""

    def __init__(self, slot: int | str):
        self.v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
        self.dirs = self._dirs(slot)
        if self.v2:
            top = CGROUP_ROOT / "ferrite-harness"
            top.mkdir(exist_ok=True)
            _write(top / "cgroup.subtree_control", "+memory +pids")
        for directory in set(self.dirs.values()):
            directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _dirs(slot: int | str) -> dict[str, Path]:
        """The folder of each controller (both the same one on v2)."""
        name = slot if isinstance(slot, str) else f"slot-{slot}"
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return {"memory": CGROUP_ROOT / "ferrite-harness" / name, "pids": CGROUP_ROOT / "ferrite-harness" / name}
        return {controller: CGROUP_ROOT / controller / "ferrite-harness" / name for controller in ("memory", "pids")}

    @staticmethod
    def existing_pids(slot: int | str) -> set[int]:
        """Every process in the slot's cgroups now, without creating them (none when they do not exist)."""
        found = set()
        for directory in set(Cgroup._dirs(slot).values()):
            try:
                found |= {int(pid) for pid in (directory / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def remove(self) -> None:
        """Removes its cgroup folders; the kernel allows it only once no process is left in them."""
        for directory in set(self.dirs.values()):
            try:
                directory.rmdir()
            except OSError:
                pass

    def procs_files(self) -> list[str]:
        """The cgroup.procs files a process writes its pid to, to join the slot."""
        return sorted({str(directory / "cgroup.procs") for directory in self.dirs.values()})

    def pids(self) -> set[int]:
        """Every process in the slot's cgroups now."""
        found = set()
        for procs in self.procs_files():
            try:
                found |= {int(pid) for pid in Path(procs).read_text().split()}
            except OSError:
                pass
        return found

    def _counter(self, controller: str, file_name: str, key: str) -> int:
        try:
            for line in (self.dirs[controller] / file_name).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def events(self) -> tuple[int, int]:
        """(processes the memory limit killed, forks the pids limit refused), counted since the cgroup was made."""
        memory_file = "memory.events" if self.v2 else "memory.oom_control"
        return self._counter("memory", memory_file, "oom_kill"), self._counter("pids", "pids.events", "max")

    def limit(self, memory_mb: int, pids: int) -> bool:
        """Sets the slot's limits (swap counted with memory); False when the kernel refused one."""
        memory_bytes = memory_mb * 1024 * 1024
        memory_dir = self.dirs["memory"]
        if self.v2:
            done = _write(memory_dir / "memory.max", memory_bytes) and _write(self.dirs["pids"] / "pids.max", pids)
            _write(memory_dir / "memory.swap.max", 0)
            return done
        done = _write(memory_dir / "memory.limit_in_bytes", memory_bytes)
        if (memory_dir / "memory.memsw.limit_in_bytes").exists():  # swap counts too, or a hog just swaps
            done = (_write(memory_dir / "memory.memsw.limit_in_bytes", memory_bytes)
                    and _write(memory_dir / "memory.limit_in_bytes", memory_bytes))
        return _write(self.dirs["pids"] / "pids.max", pids) and done
