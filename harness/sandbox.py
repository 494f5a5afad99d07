"""The jail every untrusted command runs in: the compiler on a student's sources, and the test binaries.

Layers, outermost first (README.md, "Sandbox", says why each is there and what happens without it):
  cgroups   memory and process-count limits per slot (v1 or v2, when the harness may write /sys/fs/cgroup);
  bwrap     new network, pid, ipc and uts namespaces; / read-only; a private /tmp; the real workbook and the
            harness's own state hidden under empty tmpfs; only this submission's directories bound back;
  setpriv   (as root) a uid of its own per slot, no capabilities, no new privileges;
  prlimit   CPU seconds, file size, open files, core dumps, and (with a per-slot uid) a process count.
Each concurrent run takes a slot (a lock file), so two runs never share a uid or a cgroup, and a run is over only
when no process of that slot is left: the pid namespace dies with its init, then the cgroup and the uid are swept.
"""

import fcntl
import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path

UID_BASE = int(os.environ.get("FERRITE_SANDBOX_UID_BASE", "1900000000"))
SLOTS = 64
PROC_SH = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class Limits:
    def __init__(self, wall=60.0, cpu=None, memory_mb=1024, pids=64, fsize_mb=64, nofile=(1024, 65536),
                 keep_output=48 * 1024, max_output=2 * 1024 * 1024, max_log=1024 * 1024):
        self.wall, self.cpu = wall, cpu if cpu is not None else wall + 5
        self.memory_mb, self.pids, self.fsize_mb, self.nofile = memory_mb, pids, fsize_mb, nofile
        self.keep_output, self.max_output, self.max_log = keep_output, max_output, max_log


class Outcome:
    """What one sandboxed command did. `code` is its exit status (bwrap reports a signal as 128 + signal)."""

    def __init__(self):
        self.code, self.timed_out, self.output_overflow, self.log_overflow = None, False, False, False
        self.output, self.log, self.output_bytes, self.seconds = b"", b"", 0, 0.0
        self.oom, self.pids_hit, self.leftovers = False, False, []

    @property
    def text(self):
        return self.output.decode("utf-8", "replace")


def _write(path, value):
    try:
        Path(path).write_text(str(value))
        return True
    except OSError:
        return False


class Cgroup:
    """One slot's memory and pids cgroups (v1: two hierarchies; v2: one directory)."""

    def __init__(self, slot):
        name = slot if isinstance(slot, str) else f"slot-{slot}"
        base = Path("/sys/fs/cgroup")
        if (base / "cgroup.controllers").exists():
            self.v2 = True
            top = base / "ferrite-harness"
            top.mkdir(exist_ok=True)
            _write(top / "cgroup.subtree_control", "+memory +pids")
            self.dirs = {"memory": top / name, "pids": top / name}
        else:
            self.v2 = False
            self.dirs = {c: base / c / "ferrite-harness" / name for c in ("memory", "pids")}
        for d in set(self.dirs.values()):
            d.mkdir(parents=True, exist_ok=True)

    def remove(self):
        for d in set(self.dirs.values()):
            try:
                d.rmdir()
            except OSError:
                pass

    def procs_files(self):
        return sorted({str(d / "cgroup.procs") for d in self.dirs.values()})

    def pids(self):
        found = set()
        for f in self.procs_files():
            try:
                found |= {int(p) for p in Path(f).read_text().split()}
            except OSError:
                pass
        return found

    def _counter(self, ctl, name, key):
        f = self.dirs[ctl] / name
        try:
            for line in f.read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
        except (OSError, ValueError):
            pass
        return 0

    def events(self):
        if self.v2:
            return (self._counter("memory", "memory.events", "oom_kill"),
                    self._counter("pids", "pids.events", "max"))
        return (self._counter("memory", "memory.oom_control", "oom_kill"),
                self._counter("pids", "pids.events", "max"))

    def limit(self, memory_mb, pids):
        mem = memory_mb * 1024 * 1024
        if self.v2:
            ok = _write(self.dirs["memory"] / "memory.max", mem) and _write(self.dirs["pids"] / "pids.max", pids)
            _write(self.dirs["memory"] / "memory.swap.max", 0)
            return ok
        m = self.dirs["memory"]
        ok = _write(m / "memory.limit_in_bytes", mem)
        if (m / "memory.memsw.limit_in_bytes").exists():  # swap counts too, or a hog just swaps
            ok = _write(m / "memory.memsw.limit_in_bytes", mem) and _write(m / "memory.limit_in_bytes", mem)
        return _write(self.dirs["pids"] / "pids.max", pids) and ok


def uid_processes(uid):
    """Pids of the processes whose real uid is `uid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        found.append(int(entry.name))
                    break
        except (OSError, ValueError, IndexError):
            pass
    return found


class Sandbox:
    def __init__(self, state_dir, hide=(), force_mode=None):
        self.state = Path(state_dir)
        (self.state / "slots").mkdir(parents=True, exist_ok=True)
        self.hide = [Path(h) for h in hide]
        self.root = os.geteuid() == 0
        self.warnings = []
        self.mode = force_mode or self._probe_bwrap()
        if force_mode == "rlimits":
            self.warnings.append("sandbox set to rlimits: tests run WITHOUT namespaces — the network is reachable, "
                                 "/tmp is shared and the workbook is not hidden")
        self.cgroups = self._probe_cgroups()
        if not self.root:
            self.warnings.append("not running as root: tests run under the grader's own uid, with no process-count "
                                 "limit and no memory cgroup (ASan's RSS limit only)"
                                 + ("" if self.mode == "bwrap" else ", and can signal the grader's processes")
                                 + "; run the harness as root for a uid per sandbox")

    def _probe_bwrap(self):
        bwrap = shutil.which("bwrap")
        if not bwrap:
            self.warnings.append("bubblewrap (bwrap) not found: tests run WITHOUT namespaces — the network is "
                                 "reachable, /tmp is shared and the workbook is not hidden. Install the Debian "
                                 "package bubblewrap.")
            return "rlimits"
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net",
                                "--unshare-pid", "--tmpfs", "/tmp", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.warnings.append("bubblewrap cannot create namespaces here (" + probe.stderr.strip()[:200] +
                                 "): tests run WITHOUT namespaces — the network is reachable, /tmp is shared and the "
                                 "workbook is not hidden")
            return "rlimits"
        return "bwrap"

    def _probe_cgroups(self):
        if not self.root:
            return False
        why = None
        try:  # a cgroup of its own: slot 0 may be in use by another grader right now
            probe = Cgroup(f"probe-{os.getpid()}")
            if not probe.limit(64, 64):
                why = "limits cannot be set"
            probe.remove()
        except OSError as e:
            why = e.strerror
        if why:
            self.warnings.append(f"cgroups unavailable ({why}): memory is limited by ASan's hard_rss_limit_mb "
                                 "only, processes by RLIMIT_NPROC")
        return not why

    # ---- slots ------------------------------------------------------------------------------------------------

    def _take_slot(self):
        while True:
            for slot in range(SLOTS):
                fd = os.open(self.state / "slots" / f"{slot:02d}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return slot, fd
                except BlockingIOError:
                    os.close(fd)
            time.sleep(0.05)

    # ---- the command line -------------------------------------------------------------------------------------

    def _argv(self, argv, slot, cwd, env, limits, ro, rw, cgroup):
        cmd = []
        if cgroup:
            cmd += ["sh", "-c", PROC_SH, "sh", *cgroup.procs_files(), "--"]
        # Raising a hard limit needs CAP_SYS_RESOURCE, which even root may lack (in a container): stay below.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = [n if hard == resource.RLIM_INFINITY else min(n, hard) for n in limits.nofile]
        rl = [f"--cpu={int(limits.cpu)}:{int(limits.cpu) + 1}", f"--fsize={limits.fsize_mb << 20}",
              "--nofile={}:{}".format(*nofile), "--core=0"]
        if self.root:
            rl.append(f"--nproc={limits.pids}")
        cmd += ["prlimit", *rl, "--"]  # outside bwrap, which drops CAP_SYS_RESOURCE
        if self.mode == "bwrap":
            cmd += ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
                    "--unshare-ipc", "--unshare-uts", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                    "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/tmp"]
            tmpfs = [Path("/tmp")] + [h for h in self.hide if h.exists()]
            for h in tmpfs[1:]:
                cmd += ["--tmpfs", str(h)]
            made = set()
            for p in [Path(p) for p in (*ro, *rw)]:
                # bwrap makes missing parents of a bind 0700; the sandbox's uid must be able to walk through them
                for m in tmpfs:
                    if m in p.parents:
                        for d in reversed([d for d in p.parents if m in d.parents]):
                            if d not in made:
                                made.add(d)
                                cmd += ["--perms", "0755", "--dir", str(d)]
            for p in ro:
                cmd += ["--ro-bind", str(p), str(p)]
            for p in rw:
                cmd += ["--bind", str(p), str(p)]
            cmd += ["--chdir", str(cwd), "--"]
        if self.root:
            uid = str(UID_BASE + slot)
            cmd += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--"]
        cmd += ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        return cmd

    # ---- running ------------------------------------------------------------------------------------------------

    def run(self, argv, cwd, env, limits, ro=(), rw=(), log_pipe=False):
        """Runs argv in the jail. With log_pipe, the word "@LOG@" in argv or env is replaced by the path of a
        FIFO that only this run can see; what is written to it comes back in Outcome.log. (A FIFO rather than an
        inherited pipe: /proc/self/fd of a non-dumpable process is closed to its own uid, see guard.c.)
        Returns an Outcome; never raises for what the command does."""
        slot, lock = self._take_slot()
        try:
            return self._run_in_slot(slot, argv, cwd, env, limits, ro, rw, log_pipe)
        finally:
            os.close(lock)

    def _fifo(self, slot):
        d = self.state / "fifos"
        d.mkdir(exist_ok=True)
        d.chmod(0o711)
        for old in d.iterdir():  # left by a grader that was killed; a live run's FIFO is minutes old at most
            try:
                if time.time() - old.lstat().st_mtime > 3600:
                    old.unlink()
            except OSError:
                pass
        path = d / f"log-{slot:02d}-{os.getpid()}-{time.monotonic_ns()}"
        os.mkfifo(path, 0o622)
        os.chmod(path, 0o622)
        rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        keep = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # no EOF until the harness says so
        return path, rfd, keep

    def _run_in_slot(self, slot, argv, cwd, env, limits, ro, rw, log_pipe):
        out = Outcome()
        cgroup = None
        if self.cgroups:
            cgroup = Cgroup(slot)
            self._sweep(slot, cgroup)
            if not cgroup.limit(limits.memory_mb, limits.pids):
                cgroup = None
        before = cgroup.events() if cgroup else (0, 0)
        fifo = rfd = keep = None
        if log_pipe:
            fifo, rfd, keep = self._fifo(slot)
            argv = [str(fifo) if a == "@LOG@" else a for a in argv]
            env = {k: (str(fifo) if v == "@LOG@" else v) for k, v in env.items()}
            ro = [*ro, fifo]
        cmd = self._argv(argv, slot, cwd, env, limits, ro, rw, cgroup)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log = bytearray()
        try:
            self._pump(proc, rfd, limits, out, start, log)
        finally:
            self._kill(proc)
            out.code = proc.wait()
            if out.code < 0:  # killed by the harness: the shell convention, as bwrap reports its child's signals
                out.code = 128 - out.code
            out.seconds = time.monotonic() - start
            if cgroup:
                after = cgroup.events()
                out.oom, out.pids_hit = after[0] > before[0], after[1] > before[1]
            out.leftovers = self._sweep(slot, cgroup)
            if fifo is not None:
                os.close(keep)
                self._drain(rfd, log, limits, out)
                os.close(rfd)
                fifo.unlink()
            out.log = bytes(log)
        return out

    @staticmethod
    def _drain(rfd, log, limits, out):
        while len(log) <= limits.max_log:
            try:
                chunk = os.read(rfd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            log += chunk
        out.log_overflow = out.log_overflow or len(log) > limits.max_log

    def _pump(self, proc, rfd, limits, out, start, log):
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        if rfd is not None:
            sel.register(rfd, selectors.EVENT_READ, "log")
        deadline, exited_at = start + limits.wall, None
        head = bytearray()
        while True:
            now = time.monotonic()
            if now >= deadline:
                out.timed_out = True
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                stdout_open = any(k.data == "out" for k in sel.get_map().values())
                if not stdout_open or now - exited_at > 1.0:  # 1 s: something outlived it and holds the pipe
                    break
            for key, _ in sel.select(min(deadline - now, 0.2)):
                fd = key.fileobj if isinstance(key.fileobj, int) else key.fileobj.fileno()
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.data == "out":
                    out.output_bytes += len(chunk)
                    if len(head) < limits.keep_output:
                        head += chunk[: limits.keep_output - len(head)]
                else:
                    log += chunk
            if out.output_bytes > limits.max_output:
                out.output_overflow = True
                break
            if len(log) > limits.max_log:
                out.log_overflow = True
                break
        sel.close()
        out.output = bytes(head)

    @staticmethod
    def _kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stdout.close()

    def _sweep(self, slot, cgroup):
        """Kills whatever of this slot is still alive; returns the pids that would not die."""
        uid = UID_BASE + slot
        for _ in range(50):
            # Nothing leaves a cgroup without privileges, so with one the /proc walk (slower) is not needed.
            alive = set(cgroup.pids()) if cgroup else set(uid_processes(uid)) if self.root else set()
            if not alive:
                return []
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if self.root:  # a process forking as fast as it can outruns kill by pid; kill(-1) as the uid does not
                subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "kill",
                                "-KILL", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        return sorted(alive)
