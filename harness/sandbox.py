"""The jail every untrusted command runs in: the compiler on a student's sources, and the test binaries.

Layers, outermost first (README.md, "Sandbox", says why each is there and what happens without it):
  cgroups   memory and process-count limits per slot (v1 or v2, when the harness may write /sys/fs/cgroup);
  bwrap     new network, pid, ipc and uts namespaces; a root that holds only what a compiler and a test need (/usr
            and a few files of /etc, read-only), a private /tmp, and this submission's directories bound back: no
            host socket (D-Bus, Docker, anything under /run or /var) exists in it;
  setpriv   (as root) a uid of its own per slot, no capabilities, no new privileges;
  prlimit   CPU seconds, file size, open files, core dumps, and (with a per-slot uid) a process count;
  reaper    (reaper.c) the command's parent: it adopts whatever the command leaves behind, kills it, and says how
            many processes that was.
Each concurrent run takes a slot, locked machine-wide (slot_dir()), so no two runs on the machine share a uid or a
cgroup, whichever grader started them; a run is over only when no process of that slot is left: the reaper kills
what the command left, the pid namespace dies with its init, then the cgroup and the uid are swept.
"""

import fcntl
import hashlib
import os
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cgroup import Cgroup

UID_BASE = int(os.environ.get("FERRITE_SANDBOX_UID_BASE", "1900000000"))
SLOTS = 64
PROC_SH = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
REAPER_SOURCE = Path(__file__).resolve().parent / "reaper.c"

# What a compiler, make and a test binary need of the machine, and nothing else: no /run, /var, /home, /srv, /opt
# or /sys, so no socket of the host (a D-Bus bus, docker.sock, a database) exists in the jail to connect() to.
# The merged-/usr links are copied as links; on an older layout the folders are bound instead.
SYSTEM_FOLDERS = ("/usr",)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_ETC = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
              "hosts", "host.conf", "gai.conf", "protocols", "services", "localtime")


def slot_dir() -> Path:
    """The folder of slot locks. As root, one folder for the whole machine, whatever --state a grader was given:
    a slot's uid and cgroups are the machine's, so its lock must be too. Without root there is neither, and each
    grader keeps its locks under its own state folder (the caller's choice: None is returned)."""
    for base in (Path("/run"), Path("/var/lock")):
        if base.is_dir():
            folder = base / "ferrite-grade"
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                pass
            status = folder.lstat()
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != 0 or status.st_mode & 0o022:
                raise RuntimeError(f"{folder} is not a folder only root may write: refusing to keep slot locks there")
            return folder
    raise RuntimeError("neither /run nor /var/lock exists: nowhere to keep the machine's slot locks")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use."""

    wall: float = 60.0                  # seconds of wall-clock time before it is killed
    cpu: float | None = None            # CPU seconds (RLIMIT_CPU); None: the wall time and 5 more
    memory_mb: int = 1024               # the memory cgroup's limit, swap included
    pids: int = 64                      # processes (the pids cgroup; RLIMIT_NPROC with a uid of its own)
    fsize_mb: int = 64                  # the largest file it may write (RLIMIT_FSIZE)
    nofile: tuple[int, int] = (1024, 65536)     # open files, soft and hard
    keep_output: int = 48 * 1024        # bytes of its output kept for the report
    max_output: int = 2 * 1024 * 1024   # bytes of output past which it is killed
    max_log: int = 1024 * 1024          # bytes written to its log FIFO past which it is killed

    def __post_init__(self):
        if self.cpu is None:
            object.__setattr__(self, "cpu", self.wall + 5)


@dataclass(frozen=True)
class Outcome:
    """What one sandboxed command did."""

    code: int                   # exit status; death by a signal is 128 + the signal (the shell's convention)
    seconds: float              # wall-clock time, from its start until it was reaped
    output: bytes               # the first Limits.keep_output bytes of its stdout and stderr, interleaved
    output_bytes: int           # how many bytes it printed in all
    log: bytes                  # what it wrote to its log FIFO (empty when the run had none)
    timed_out: bool             # killed at the wall-clock limit
    stopped: bool               # killed because the Budget it shared with other runs was used up
    output_overflow: bool       # killed for printing more than Limits.max_output
    log_overflow: bool          # wrote more than Limits.max_log to its log FIFO
    oom: bool                   # the memory cgroup killed a process of the run
    pids_hit: bool              # the pids cgroup refused a fork of the run
    stragglers: int             # processes the command left running when it ended (the reaper killed them)
    leftovers: tuple[int, ...]  # processes of the slot that outlived every kill (none, normally)

    @property
    def text(self) -> str:
        """The kept output, decoded (undecodable bytes replaced)."""
        return self.output.decode("utf-8", "replace")


class _Streams:
    """What a run has printed and logged so far, while it runs."""

    def __init__(self):
        self.head, self.log, self.output_bytes = bytearray(), bytearray(), 0
        self.timed_out = self.stopped = self.output_overflow = self.log_overflow = False


class Budget:
    """Wall-clock seconds that many runs share (a chapter's tests). Every run given it counts against it for as long
    as it runs, in parallel with others or not, and a run still going when it is used up is stopped: the runs'
    seconds add up to the budget at most (and a poll interval per run), however they are retried. Thread-safe."""

    POLL = 0.2  # how often a running command checks it (seconds)

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._spent = 0.0                       # seconds of the runs that have ended
        self._running: dict[int, float] = {}    # when each run still going started, by a token of its own
        self._tokens = 0

    def left(self) -> float:
        """Seconds still to spend, counting the runs going now up to this moment."""
        with self._lock:
            now = time.monotonic()
            return self.seconds - self._spent - sum(now - started for started in self._running.values())

    def begin(self) -> int:
        """Starts counting one run; returns its token for end()."""
        with self._lock:
            self._tokens += 1
            self._running[self._tokens] = time.monotonic()
            return self._tokens

    def end(self, token: int) -> None:
        """Stops counting the run of `token`; what it used stays spent."""
        with self._lock:
            self._spent += time.monotonic() - self._running.pop(token)


def uid_processes(uid: int) -> list[int]:
    """Pids of the processes whose real uid is `uid`, from /proc."""
    return all_uid_processes().get(uid, [])


def real_uid(pid: int) -> int | None:
    """The real uid of a live process, or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def all_uid_processes() -> dict[int, list[int]]:
    """Pids of every process, by real uid, from /proc."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (uid := real_uid(int(entry.name))) is not None:
            found.setdefault(uid, []).append(int(entry.name))
    return found


def strays() -> dict[int, list[int]]:
    """Processes of every slot no grader holds now, by slot: whatever outlived its run and every sweep (there must
    be none). A slot in use, by this grader or any other on the machine, is not looked at: its processes are a run
    in progress. Needs root (without it there is no uid or cgroup of a slot to look at)."""
    if os.geteuid() != 0:
        return {}
    by_uid = all_uid_processes()
    found = {}
    folder = slot_dir()
    for slot in range(SLOTS):
        lock = os.open(folder / f"{slot:02d}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        try:
            # The table was read before this lock was taken: a grader may have ended its run and let the slot go
            # in between, its processes gone with it. Only those still there, with the slot's uid, count.
            uid = UID_BASE + slot
            alive = {pid for pid in by_uid.get(uid, []) if real_uid(pid) == uid} | Cgroup.existing_pids(slot)
            if alive:
                found[slot] = sorted(alive)
        finally:
            os.close(lock)
    return found


WITHOUT_NAMESPACES = ("tests run WITHOUT namespaces — the network and the host's Unix sockets are reachable, /tmp is "
                      "shared and the workbook is not hidden")


class Sandbox:
    """The jail, set up once per grading: which layers this machine allows, and the runs made in it."""

    def __init__(self, state_dir: Path, hide=(), force_mode: str | None = None):
        self.state = Path(state_dir)            # log FIFOs (and, without root, slot locks) live here
        self.hide = [Path(hidden) for hidden in hide]  # folders a run sees as empty (the workbook, the state)
        self.as_root = os.geteuid() == 0        # a uid per slot, the process limit and cgroups need root
        self.slots = slot_dir() if self.as_root else self.state / "slots"
        self.slots.mkdir(parents=True, exist_ok=True)
        self.warnings: list[str] = []           # what this machine's sandbox lacks, for every report
        self.mode = force_mode or self._probe_bwrap()   # "bwrap", or "rlimits" without namespaces
        if force_mode == "rlimits":
            self.warnings.append(f"sandbox set to rlimits: {WITHOUT_NAMESPACES}")
        self.uses_cgroups = self._probe_cgroups()
        if not self.as_root:
            self.warnings.append("not running as root: tests run under the grader's own uid, with no process-count "
                                 "limit and no memory cgroup (ASan's RSS limit only)"
                                 + ("" if self.mode == "bwrap" else ", and can signal the grader's processes")
                                 + "; run the harness as root for a uid per sandbox")
        self._reaper: Path | None = None
        self._reaper_lock = threading.Lock()

    def _probe_bwrap(self) -> str:
        bwrap = shutil.which("bwrap")
        if not bwrap:
            self.warnings.append(f"bubblewrap (bwrap) not found: {WITHOUT_NAMESPACES}. Install the Debian package "
                                 "bubblewrap.")
            return "rlimits"
        probe = subprocess.run([bwrap, *self._system_binds(), "--dev", "/dev", "--proc", "/proc", "--unshare-net",
                                "--unshare-pid", "--tmpfs", "/tmp", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.warnings.append(f"bubblewrap cannot create namespaces here ({probe.stderr.strip()[:200]}): "
                                 + WITHOUT_NAMESPACES)
            return "rlimits"
        return "bwrap"

    def _probe_cgroups(self) -> bool:
        if not self.as_root:
            return False
        why = None
        try:  # a cgroup of its own: slot 0 may be in use by another grader right now
            probe = Cgroup(f"probe-{os.getpid()}")
            if not probe.limit(64, 64):
                why = "limits cannot be set"
            probe.remove()
        except OSError as error:
            why = error.strerror
        if why:
            self.warnings.append(f"cgroups unavailable ({why}): memory is limited by ASan's hard_rss_limit_mb "
                                 "only, processes by RLIMIT_NPROC")
        return not why

    def reaper(self) -> Path:
        """reaper.c compiled once per version of its source, under the state folder (shared by the graders of a
        batch: each installs its copy by renaming, so none ever runs a half-written one)."""
        with self._reaper_lock:
            if self._reaper is None:
                source = REAPER_SOURCE.read_bytes()
                folder = self.state / "bin"
                folder.mkdir(mode=0o755, exist_ok=True)
                program = folder / f"reaper-{hashlib.sha256(source).hexdigest()[:16]}"
                if not program.is_file():
                    partial = folder / f".{program.name}.{os.getpid()}.{threading.get_ident()}"
                    subprocess.run(["gcc", "-O2", "-o", str(partial), str(REAPER_SOURCE)], check=True,
                                   capture_output=True)
                    partial.chmod(0o755)
                    partial.replace(program)
                self._reaper = program
            return self._reaper

    # ---- slots ------------------------------------------------------------------------------------------------

    def _take_slot(self) -> tuple[int, int]:
        """A free slot and the descriptor of its lock, held until the run is over."""
        while True:
            for slot in range(SLOTS):
                lock = os.open(self.slots / f"{slot:02d}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return slot, lock
                except BlockingIOError:
                    os.close(lock)
            time.sleep(0.05)

    # ---- the command line -------------------------------------------------------------------------------------

    def _prlimit(self, limits: Limits) -> list[str]:
        # Raising a hard limit needs CAP_SYS_RESOURCE, which even root may lack (in a container): stay below.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = [count if hard == resource.RLIM_INFINITY else min(count, hard) for count in limits.nofile]
        options = [f"--cpu={int(limits.cpu)}:{int(limits.cpu) + 1}", f"--fsize={limits.fsize_mb << 20}",
                   "--nofile={}:{}".format(*nofile), "--core=0"]
        if self.as_root:
            options.append(f"--nproc={limits.pids}")
        return ["prlimit", *options, "--"]  # outside bwrap, which drops CAP_SYS_RESOURCE

    @staticmethod
    def _system_binds() -> list[str]:
        """The jail's root: SYSTEM_FOLDERS, SYSTEM_LINKS and SYSTEM_ETC as this machine has them, read-only."""
        binds = []
        for folder in SYSTEM_FOLDERS:
            if os.path.isdir(folder):
                binds += ["--ro-bind", folder, folder]
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                binds += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                binds += ["--ro-bind", link, link]
        for name in SYSTEM_ETC:
            if os.path.exists(f"/etc/{name}"):
                binds += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        return binds

    def _bwrap(self, cwd: Path, read_only, writable) -> list[str]:
        command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid", "--unshare-ipc",
                   "--unshare-uts"]
        # bwrap makes a missing folder on the way to a mount point 0700, which the sandbox's uid could not walk
        # through: every one is made first, 0755, in the order the mounts come.
        made = {Path("/")}

        def mount(*operation: str) -> None:
            destination = Path(operation[-1])
            for parent in reversed(destination.parents):
                if parent not in made:
                    made.add(parent)
                    command.extend(["--perms", "0755", "--dir", str(parent)])
            command.extend(operation)
            made.add(destination)

        system = self._system_binds()
        for index in range(0, len(system), 3):
            mount(*system[index:index + 3])
        mount("--dev", "/dev")
        mount("--proc", "/proc")
        mount("--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/tmp")
        # The workbook and the state are nowhere in this root, unless a system folder holds them: hidden then.
        bound = [Path(system[index + 2]) for index in range(0, len(system), 3) if system[index] == "--ro-bind"]
        for hidden in self.hide:
            if hidden.exists() and any(hidden.is_relative_to(folder) for folder in bound):
                mount("--tmpfs", str(hidden))
        binds = [("--ro-bind", Path(path)) for path in read_only] + [("--bind", Path(path)) for path in writable]
        for option, path in sorted(binds, key=lambda bind: len(bind[1].parts)):
            mount(option, str(path), str(path))
        return command + ["--chdir", str(cwd), "--"]

    def _command(self, argv, slot, cwd, env, limits, read_only, writable, cgroup, report_fd) -> list[str]:
        command = []
        if cgroup:
            command += ["sh", "-c", PROC_SH, "sh", *cgroup.procs_files(), "--"]
        command += self._prlimit(limits)
        reaper = self.reaper()
        if self.mode == "bwrap":
            command += self._bwrap(cwd, [*read_only, reaper], writable)
        if self.as_root:
            uid = str(UID_BASE + slot)
            command += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--inh-caps=-all",
                        "--bounding-set=-all", "--no-new-privs", "--"]
        return command + [str(reaper), str(report_fd), "env", "-i",
                          *(f"{name}={value}" for name, value in env.items()), *argv]

    # ---- running ------------------------------------------------------------------------------------------------

    def run(self, argv: list[str], cwd: Path, env: dict[str, str], limits: Limits, read_only: Sequence = (),
            writable: Sequence = (), log_pipe: bool = False, budget: Budget | None = None) -> Outcome:
        """Runs argv in the jail, where besides the system folders only `read_only` and `writable` (paths) exist.
        With log_pipe, the word "@LOG@" in argv or env is replaced by the path of a FIFO that only this run can
        see; what is written to it comes back in Outcome.log. (A FIFO rather than an inherited pipe: /proc/self/fd
        of a non-dumpable process is closed to its own uid, see guard.c.) With a budget, the run counts against it
        and is stopped when it is used up. Never raises for what the command does."""
        slot, lock = self._take_slot()
        try:
            return self._run_in_slot(slot, argv, cwd, env, limits, read_only, writable, log_pipe, budget)
        finally:
            os.close(lock)

    def _fifo(self, slot: int) -> tuple[Path, int, int]:
        """A new log FIFO: its path, the harness's reading end, and a writing end that keeps EOF away."""
        folder = self.state / "fifos"
        folder.mkdir(exist_ok=True)
        folder.chmod(0o711)
        for old in folder.iterdir():  # left by a grader that was killed; a live run's FIFO is minutes old at most
            try:
                if time.time() - old.lstat().st_mtime > 3600:
                    old.unlink()
            except OSError:
                pass
        path = folder / f"log-{slot:02d}-{os.getpid()}-{time.monotonic_ns()}"
        os.mkfifo(path, 0o622)
        os.chmod(path, 0o622)
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        keep_open = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # no EOF until the harness says so
        return path, reader, keep_open

    def _run_in_slot(self, slot, argv, cwd, env, limits, read_only, writable, log_pipe, budget) -> Outcome:
        cgroup = None
        if self.uses_cgroups:
            cgroup = Cgroup(slot)
            self._sweep(slot, cgroup)
            if not cgroup.limit(limits.memory_mb, limits.pids):
                cgroup = None
        events_before = cgroup.events() if cgroup else (0, 0)
        fifo = reader = keep_open = None
        if log_pipe:
            fifo, reader, keep_open = self._fifo(slot)
            argv = [str(fifo) if word == "@LOG@" else word for word in argv]
            env = {name: (str(fifo) if value == "@LOG@" else value) for name, value in env.items()}
            read_only = [*read_only, fifo]
        report_reader, report_writer = os.pipe()  # the reaper's report: its write end goes to the reaper alone
        os.set_blocking(report_reader, False)
        token = None
        try:
            command = self._command(argv, slot, cwd, env, limits, read_only, writable, cgroup, report_writer)
            token = budget.begin() if budget else None
            start = time.monotonic()
            proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(report_writer,))
        except BaseException:
            for descriptor in (report_reader, report_writer, reader, keep_open):
                if descriptor is not None:
                    os.close(descriptor)
            if fifo is not None:
                fifo.unlink()
            if token is not None:
                budget.end(token)
            raise
        os.close(report_writer)
        streams = _Streams()
        try:
            self._pump(proc, reader, limits, streams, start, budget)
        finally:
            self._kill(proc)
            code = proc.wait()
            if token is not None:
                budget.end(token)
            if code < 0:  # killed by the harness: the shell convention, as bwrap reports its child's signals
                code = 128 - code
            seconds = time.monotonic() - start
            stragglers = self._read_report(report_reader)
            os.close(report_reader)
            events_after = cgroup.events() if cgroup else (0, 0)
            leftovers = self._sweep(slot, cgroup)
            if fifo is not None:
                os.close(keep_open)
                self._drain(reader, limits, streams)
                os.close(reader)
                fifo.unlink()
        return Outcome(code=code, seconds=seconds, output=bytes(streams.head), output_bytes=streams.output_bytes,
                       log=bytes(streams.log), timed_out=streams.timed_out, stopped=streams.stopped,
                       output_overflow=streams.output_overflow, log_overflow=streams.log_overflow,
                       oom=events_after[0] > events_before[0], pids_hit=events_after[1] > events_before[1],
                       stragglers=stragglers, leftovers=tuple(leftovers))

    @staticmethod
    def _read_report(reader: int) -> int:
        """The processes the reaper found left running, from its report line (0 when it wrote none: a run whose
        reaper was killed, with everything else, at a limit)."""
        try:
            words = os.read(reader, 4096).split()
        except BlockingIOError:
            return 0
        return int(words[1]) if len(words) == 2 and words[1].isdigit() else 0

    @staticmethod
    def _drain(reader: int, limits: Limits, streams: _Streams) -> None:
        while len(streams.log) <= limits.max_log:
            try:
                chunk = os.read(reader, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            streams.log += chunk
        streams.log_overflow = streams.log_overflow or len(streams.log) > limits.max_log

    @staticmethod
    def _pump(proc, reader: int | None, limits: Limits, streams: _Streams, start: float,
              budget: Budget | None) -> None:
        """Reads the run's output and log until it ends, or until a limit (or the budget) stops it."""
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ, "output")
        if reader is not None:
            selector.register(reader, selectors.EVENT_READ, "log")
        deadline, exited_at = start + limits.wall, None
        while True:
            now = time.monotonic()
            if now >= deadline:
                streams.timed_out = True
                break
            if budget is not None and budget.left() <= 0:
                streams.stopped = True
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                output_open = any(key.data == "output" for key in selector.get_map().values())
                if not output_open or now - exited_at > 1.0:  # 1 s: something outlived it and holds the pipe
                    break
            for key, _ in selector.select(min(deadline - now, Budget.POLL)):
                descriptor = key.fileobj if isinstance(key.fileobj, int) else key.fileobj.fileno()
                try:
                    chunk = os.read(descriptor, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.data == "output":
                    streams.output_bytes += len(chunk)
                    if len(streams.head) < limits.keep_output:
                        streams.head += chunk[: limits.keep_output - len(streams.head)]
                else:
                    streams.log += chunk
            if streams.output_bytes > limits.max_output:
                streams.output_overflow = True
                break
            if len(streams.log) > limits.max_log:
                streams.log_overflow = True
                break
        selector.close()

    @staticmethod
    def _kill(proc) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stdout.close()

    def _sweep(self, slot: int, cgroup: Cgroup | None) -> list[int]:
        """Kills whatever of this slot is still alive; returns the pids that would not die. The slot's lock is
        held, machine-wide: every process of its uid or in its cgroups belongs to this grader's run."""
        uid = UID_BASE + slot
        for _ in range(50):
            # Nothing leaves a cgroup without privileges, so with one the /proc walk (slower) is not needed.
            alive = set(cgroup.pids()) if cgroup else set(uid_processes(uid)) if self.as_root else set()
            if not alive:
                return []
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if self.as_root:  # a process forking as fast as it can outruns kill by pid; kill(-1) as the uid does not
                subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "kill",
                                "-KILL", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        return sorted(alive)
