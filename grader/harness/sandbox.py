"""Isolate the forked child before any student code runs.

Layers, each applied where this machine allows it and reported by name:
  namespaces  new network, IPC, UTS and mount namespaces (no network at all; as
              root, one empty network namespace per zygote, entered by each child)
  mounts      read-only root; fresh size-capped /tmp and /dev/shm; the
              solutions, the results and the class's submissions hidden; only
              the interpreter, the harness and this student's files re-exposed
  rlimits     memory, CPU, file size, open files, processes, no core files
  uid         an unprivileged uid per worker slot
  privileges  no_new_privs and not dumpable
  landlock    a file-system allow-list, no TCP, no signals out (Linux LSM)
  seccomp     no new processes, no exec, no non-Unix sockets, no ptrace
A layer that cannot be applied is skipped and reported; the others still hold.
"""
import ctypes
import errno
import fcntl
import os
import resource
import signal
import sys

LAYERS = ("namespaces", "mounts", "rlimits", "uid", "privileges", "landlock", "seccomp")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x04000000, 0x08000000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38


class LayerError(OSError):
    pass


def _check(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise LayerError(number, f"{what}: {os.strerror(number)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                       data and data.encode()), f"mount {target}")


def prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


# ---- namespaces and mounts -------------------------------------------------------

def enter_namespaces(network=None):
    """New network, IPC, UTS and mount namespaces; `network`: the descriptor of an empty network namespace
    to enter instead of making one (see empty_network_namespace)."""
    flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS
    if os.geteuid() == 0:
        if network is not None:
            _check(_libc.setns(network, CLONE_NEWNET), "setns")
            flags &= ~CLONE_NEWNET
        _check(_libc.unshare(flags), "unshare")
        return
    uid, gid = os.geteuid(), os.getegid()  # unprivileged: a user namespace makes us root inside it
    _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def empty_network_namespace():
    """The descriptor of a new network namespace, empty but for a loopback that is down; None where this
    process cannot make one (not root).

    Made once by a zygote, which stays in its own: each child then enters it (setns, a few microseconds)
    instead of making its own (~1.1 ms, and about a third of that again for the kernel to take it down).
    A zygote runs one child at a time and every child's processes are killed before the next starts, so
    the children share it only one after another, and nothing in it outlives them: sockets close with
    their processes, seccomp allows Unix sockets only, and a child that dropped its uid cannot configure
    the namespace (it belongs to the host's user namespace).
    """
    if os.geteuid() != 0:
        return None
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            return None
        opened = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        empty = fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, 10)  # clear of the 0-3 that a child sets up
        os.close(opened)
        _check(_libc.setns(own, CLONE_NEWNET), "setns")  # back to where this process was
        return empty
    finally:
        os.close(own)


def _covering(path, covers):
    return next((cover for cover in covers if path == cover or path.startswith(cover.rstrip("/") + "/")), None)


def _closed_to_others(path):
    """The highest ancestor of path that an unprivileged uid could not walk through."""
    current = "/"
    for part in path.strip("/").split("/"):
        current = os.path.join(current, part)
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
    return None


def rebuild_mounts(expose, hide, scratch_bytes):
    """Read-only root; fresh tmpfs over /tmp, /dev/shm, hidden folders and folders closed to
    other users; the exposed paths inside those re-bound read-only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    expose = sorted({os.path.realpath(path) for path in expose if os.path.exists(path)}, key=len)
    expose = [path for index, path in enumerate(expose) if not _covering(path, expose[:index])]
    hide = [os.path.realpath(path) for path in hide if os.path.isdir(path)]
    closed = {ancestor for path in expose if (ancestor := _closed_to_others(path))}
    covers = sorted({"/tmp", "/dev/shm", *closed, *hide}, key=len)
    covers = [cover for cover in covers if os.path.isdir(cover) and not _covering(cover, [c for c in covers if c != cover])]
    held = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in expose if _covering(path, covers)]
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for cover in covers:
        mode = "1777" if cover in ("/tmp", "/dev/shm") else "0755"
        _mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_bytes},mode={mode}")
    for path, descriptor in held:
        if os.path.isdir(f"/proc/self/fd/{descriptor}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()
        _mount(f"/proc/self/fd/{descriptor}", path, None, MS_BIND)  # not MS_REC: that would copy the cover too
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(descriptor)


# ---- resource limits, uid, privileges ---------------------------------------------

def apply_rlimits(limits, dropping_uid):
    soft_cpu = max(1, int(limits["cpu_seconds"]))
    settings = [
        ("RLIMIT_CORE", 0), ("RLIMIT_CPU", (soft_cpu, soft_cpu + 1)), ("RLIMIT_DATA", limits["memory_bytes"]),
        ("RLIMIT_FSIZE", limits["file_bytes"]), ("RLIMIT_NOFILE", limits["open_files"]),
    ]
    if dropping_uid:
        settings.append(("RLIMIT_NPROC", limits.get("processes", 64)))  # counted per uid: only useful once not root
    for name, value in settings:
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(getattr(resource, name), (soft, hard))


def drop_uid(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise LayerError(errno.EPERM, "uid did not change")


# ---- landlock ----------------------------------------------------------------------

LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_ALL_ABI1 = (1 << 13) - 1
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi():
    version = _libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, version)


def prepare_landlock(read_paths, write_paths):
    """Build the ruleset (paths opened now, while they can still be opened); enforce later."""
    abi = landlock_abi()
    if abi < 1:
        raise LayerError(errno.ENOSYS, "Landlock is not available on this kernel")
    handled = FS_ALL_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0) | (FS_IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise LayerError(ctypes.get_errno(), "landlock_create_ruleset failed")
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    write = read | FS_WRITE_FILE | (FS_ALL_ABI1 & ~FS_EXECUTE) | (FS_TRUNCATE if abi >= 3 else 0)
    for paths, access in ((read_paths, read), (write_paths, write)):
        for path in paths:
            try:
                descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            allowed = access & handled
            if not os.path.isdir(path):
                allowed &= FILE_RIGHTS
            rule = _PathBeneath(allowed, descriptor)
            result = _libc.syscall(LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule),
                                   ctypes.c_uint32(0))
            os.close(descriptor)
            if result != 0:
                raise LayerError(ctypes.get_errno(), f"landlock_add_rule {path}")
    return ruleset


def enforce_landlock(ruleset):
    _check(_libc.syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    os.close(ruleset)


# ---- seccomp -----------------------------------------------------------------------

DENIED_SYSCALLS = (
    "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
    "unshare", "setns", "bpf", "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl",
    "add_key", "request_key", "setsid", "setpgid", "kexec_load", "init_module", "finit_module", "delete_module",
    "pivot_root", "chroot", "reboot", "swapon", "swapoff", "userfaultfd", "pidfd_getfd", "open_by_handle_at",
)


def build_seccomp_filter():
    """Built once in the zygote: importing pyseccomp spawns processes, which a child cannot."""
    import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError, OSError):
            pass  # not a syscall on this architecture
    clone_thread = 0x00010000
    flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, clone_thread, 0))
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone, checked above
    flt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.NE, 1))  # AF_UNIX only
    return flt


# ---- putting it together -------------------------------------------------------------

class Isolation:
    """Prepared once in the zygote; `enter` runs in each forked child."""

    def __init__(self, enabled=LAYERS):
        self.enabled = tuple(enabled)
        self.network = None  # an empty network namespace for the children to enter, once share_network() made it
        self.seccomp = None
        self.seccomp_problem = ""
        if "seccomp" in self.enabled:
            try:
                self.seccomp = build_seccomp_filter()
            except Exception as exc:  # noqa: BLE001 - any failure means: no seccomp layer here
                self.seccomp_problem = f"{type(exc).__name__}: {exc}"

    def share_network(self):
        """Make the one empty network namespace that this process's children enter in turn (root only)."""
        if self.network is None and "namespaces" in self.enabled:
            try:
                self.network = empty_network_namespace()
            except OSError:
                self.network = None

    def enter(self, *, job, student_dir, scratch, enabled=None):
        """Apply every enabled layer; returns {layer: "on" or the reason it is off}."""
        enabled = set(self.enabled if enabled is None else enabled)
        sandbox = job.get("sandbox", {})
        uid = sandbox.get("uid")
        report = {layer: "disabled" for layer in LAYERS}

        def attempt(layer, action):
            if layer not in enabled:
                return False
            try:
                action()
            except (OSError, ValueError) as exc:
                report[layer] = f"unavailable: {exc}"
                return False
            report[layer] = "on"
            return True

        runtime_paths = sandbox.get("expose", [])
        namespaced = attempt("namespaces", lambda: enter_namespaces(self.network))
        if self.network is not None:
            os.close(self.network)  # student code gets no handle on it
        if namespaced:
            attempt("mounts", lambda: rebuild_mounts(runtime_paths + [student_dir], sandbox.get("hide", []),
                                                     sandbox.get("scratch_bytes", 64 * 1024 * 1024)))
        elif "mounts" in enabled:
            report["mounts"] = "unavailable: needs the namespaces layer"
        os.makedirs(scratch, exist_ok=True)
        dropping = uid is not None and os.geteuid() == 0 and "uid" in enabled
        if dropping:
            os.chown(scratch, uid, uid)
        os.chdir(scratch)
        attempt("rlimits", lambda: apply_rlimits(job["limits"], dropping))
        ruleset = None
        if "landlock" in enabled:
            try:
                ruleset = prepare_landlock(runtime_paths + [student_dir] + ["/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev/urandom"],
                                           [scratch, "/dev/null"])
            except OSError as exc:
                report["landlock"] = f"unavailable: {exc}"
        if dropping:
            attempt("uid", lambda: drop_uid(uid))
        elif "uid" in enabled:
            report["uid"] = "unavailable: not running as root" if uid is not None else "unavailable: no uid given"
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # a uid change clears it: set it again
        attempt("privileges", lambda: (prctl(PR_SET_NO_NEW_PRIVS, 1), prctl(PR_SET_DUMPABLE, 0)))
        if ruleset is not None:
            attempt("landlock", lambda: enforce_landlock(ruleset))
        if "seccomp" in enabled:
            if self.seccomp is None:
                report["seccomp"] = f"unavailable: {self.seccomp_problem or 'pyseccomp is not installed'}"
            else:
                attempt("seccomp", self.seccomp.load)
        return report


def python_paths():
    """What the interpreter needs to go on importing: prefixes and every sys.path folder."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(entry for entry in sys.path if entry and os.path.isdir(entry))
    return sorted({os.path.realpath(path) for path in paths})
