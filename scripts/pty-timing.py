#!/usr/bin/env python3
"""Times a full-screen terminal program in a real pseudo-terminal, for scripts/bench.mjs.

    python3 scripts/pty-timing.py '<json spec>'   ->  one JSON object on stdout

Spec (JSON):
  cmd       argv to execve (no shell; cmd[0] is a path)
  env       the complete environment of the child
  cwd       working directory (optional)
  cols, rows  window size, set with TIOCSWINSZ on the terminal before exec (80x24)
  title     regex: the first frame has arrived once the output seen so far (escape
            sequences removed) matches it
  ready     regex the program prints once it is idle and waiting for a key (optional;
            without it, the helper waits for the program to exit)
  keys      optional: {"enter": "\\r", "screens": {"regex": ["key", ...], ...},
            "presses": 10, "quiet_ms": 150, "timeout_s": 3}: after ready, write enter,
            wait for the output to match one of the screens' regexes and go quiet, then
            write that screen's keys in turn (cycling) `presses` times, each after the
            output has been quiet for quiet_ms; each press is timed from the write to
            the first byte that comes back
  burst     optional, with keys: {"steps": {"<screen regex of keys>": [{"write": "...",
            "wait": "regex"}, ...]}, "bytes": "...", "frame": "regex", "done": ["regex", ...],
            "timeout_s": 5}: after keys, each step (for the screen the keys were pressed on)
            is written once the output is quiet, then its regex awaited (the way to the
            screen); then `bytes` go out in ONE write and the time runs
            until the output holds a frame (the text from one match of `frame` to the
            next) in which every `done` regex matches: all the keys shown at once
  quit      bytes written to end the program once done (Ctrl+C); if it has not exited
            two seconds later it is killed (SIGKILL)
  timeout_s how long to wait for title and ready (default 30)

Times are time.monotonic() differences in milliseconds. The spawn clock starts just
before fork(); the child makes the pty its controlling terminal, as a login shell would.
"""
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(rb'\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])')


def text(buf):
    return ANSI.sub(b'', bytes(buf)).decode('utf-8', 'replace')


class Child:
    def __init__(self, spec):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', spec.get('rows', 24), spec.get('cols', 80), 0, 0))
        cmd, env, cwd = spec['cmd'], spec['env'], spec.get('cwd')
        self.t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child: new session, the pty as controlling terminal and stdio
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                if cwd:
                    os.chdir(cwd)
                os.execve(cmd[0], cmd, env)
            except BaseException as e:  # noqa: BLE001 - report and never return into Python
                os.write(2, f'pty-timing: exec {cmd[0]}: {e}\n'.encode())
            finally:
                os._exit(127)
        os.close(slave)
        self.pid, self.fd = pid, master
        self.out = bytearray()
        self.eof = False
        self.status = None
        self.first_byte = None

    def ms(self, t):
        return (t - self.t0) * 1000

    def read(self, timeout):
        """Waits up to timeout seconds for output; returns (time of arrival, bytes) or None."""
        if self.eof:
            return None
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return None
        t = time.monotonic()
        try:
            b = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the slave side is closed (the program exited)
                raise
            b = b''
        if not b:
            self.eof = True
            return None
        if self.first_byte is None:
            self.first_byte = t
        self.out += b
        return t, b

    def wait_for(self, pattern, timeout):
        """Reads until the output so far matches pattern; returns the time of the read that did it."""
        rx = re.compile(pattern)
        start = len(self.out)
        deadline = time.monotonic() + timeout
        # Already there (a frame can carry more than one thing we wait for)?
        if rx.search(text(self.out)):
            return time.monotonic()
        while True:
            got = self.read(deadline - time.monotonic())
            if got is None:
                if self.eof:
                    raise Failure(f'the program exited before printing /{pattern}/', self)
                if time.monotonic() >= deadline:
                    raise Failure(f'no /{pattern}/ within {timeout} s', self)
                continue
            # Only the bytes since we started waiting, plus some overlap for a split match.
            if rx.search(text(self.out[max(0, start - 4096):])):
                return got[0]

    def quiet(self, quiet_s, timeout):
        """Reads until nothing has arrived for quiet_s; returns the time of the last byte."""
        last = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.read(quiet_s)
            if got is None:
                return last
            last = got[0]
        raise Failure(f'the output did not settle ({quiet_s * 1000:.0f} ms without a byte) within {timeout} s', self)

    def end(self, quit_bytes):
        how = 'exited'
        if self.status is None and quit_bytes is not None and not self.eof:
            os.write(self.fd, quit_bytes.encode())
            how = 'quit'
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    self.status = 'done'
                    break
                self.read(0.05)
        if self.status is None:
            try:
                done = os.waitpid(self.pid, os.WNOHANG)[0]
            except ChildProcessError:
                done = True
            if not done:
                how = 'killed'
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.status = 'done'
        os.close(self.fd)
        return how


class Failure(Exception):
    def __init__(self, msg, child):
        super().__init__(msg)
        self.tail = text(child.out)[-1500:]


def run(spec):
    timeout = spec.get('timeout_s', 30)
    c = Child(spec)
    res = {}
    try:
        res['title_ms'] = c.ms(c.wait_for(spec['title'], timeout))
        res['first_byte_ms'] = c.ms(c.first_byte)
        if spec.get('ready'):
            res['ready_ms'] = c.ms(c.wait_for(spec['ready'], timeout))
        else:
            while c.read(timeout) is not None:
                pass
            _, status = os.waitpid(c.pid, 0)
            c.status = status
            res['exit_ms'] = c.ms(time.monotonic())
        k = spec.get('keys')
        if k:
            quiet_s = k.get('quiet_ms', 150) / 1000
            key_timeout = k.get('timeout_s', 3)
            c.quiet(quiet_s, timeout)
            os.write(c.fd, k['enter'].encode())
            screens = k['screens']
            rx = '|'.join(f'(?:{p})' for p in screens)
            c.wait_for(rx, timeout)
            seen = text(c.out[-8192:])
            name = max(screens, key=lambda p: max([m.start() for m in re.finditer(p, seen)], default=-1))
            keys = screens[name]
            res['screen'] = name
            presses = []
            for i in range(k.get('presses', 10)):
                c.quiet(quiet_s, timeout)
                key = keys[i % len(keys)]
                before = len(c.out)
                t = time.monotonic()
                os.write(c.fd, key.encode())
                got = c.read(key_timeout)
                if got is None:
                    raise Failure(f'no output within {key_timeout} s after writing {key!r} (press {i + 1})', c)
                settled = c.quiet(quiet_s, timeout) or got[0]
                presses.append({'key': key, 'first_ms': (got[0] - t) * 1000, 'settled_ms': (settled - t) * 1000, 'bytes': len(c.out) - before})
            res['presses'] = presses
        b = spec.get('burst')
        if b:
            quiet_s = 0.15
            for st in b.get('steps', {}).get(res.get('screen'), []):
                c.quiet(quiet_s, timeout)
                os.write(c.fd, st['write'].encode())
                c.wait_for(st['wait'], timeout)
            c.quiet(quiet_s, timeout)
            res['burst_ms'] = burst(c, b)
        res['ok'] = True
    except Failure as e:
        res.update(ok=False, error=str(e), tail=e.tail)
    finally:
        res['end'] = c.end(spec.get('quit'))
    return res


def burst(c, b):
    """Writes b['bytes'] in one write; ms until one frame shows every b['done'] pattern."""
    frame = re.compile(b['frame'])
    done = [re.compile(d) for d in b['done']]
    start = len(c.out)
    t = time.monotonic()
    os.write(c.fd, b['bytes'].encode())
    deadline = t + b.get('timeout_s', 5)
    while True:
        got = c.read(deadline - time.monotonic())
        if got is None:
            if c.eof or time.monotonic() >= deadline:
                raise Failure(f'no frame showing the whole burst within {b.get("timeout_s", 5)} s', c)
            continue
        shown = text(c.out[start:])
        # Frames begin with their title: every pattern must match within one of them (the
        # last one counts as soon as the patterns' lines have arrived).
        starts = [m.start() for m in frame.finditer(shown)] + [len(shown)]
        for a, z in zip(starts, starts[1:]):
            if all(d.search(shown[a:z]) for d in done):
                return (got[0] - t) * 1000


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally above: the child is ended, not orphaned


if __name__ == '__main__':
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    print(json.dumps(run(json.loads(sys.argv[1]))))
