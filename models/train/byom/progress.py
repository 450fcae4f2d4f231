"""Progress as JSON lines on stdout (the split-dnn command draws the bar), human log on stderr."""
import json
import os
import signal
import sys
import time


class Progress:
    def __init__(self, t0):
        self.t0, self.last = t0, 0.0
        # Ctrl-C reaches the whole process group: the command stops us (SIGTERM) and
        # cleans up, so the key press alone must not leave a traceback here
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.parent = os.getppid()

    def emit(self, **fields):
        fields["t"] = round(time.time() - self.t0, 2)
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()

    def stage(self, name, total=None, label=""):
        self.emit(event="stage", stage=name, total=total, label=label)

    def step(self, stage, item, items, k, total, label):
        """Throttled: at most ~5 lines a second."""
        now = time.time()
        if k < total and now - self.last < 0.2:
            return
        if os.getppid() != self.parent:  # the command is gone: nobody will use the result
            sys.exit(3)
        self.last = now
        self.emit(event="progress", stage=stage, item=item, items=items, done=k, total=total, label=label)

    def log(self, msg):
        sys.stderr.write("[%7.1fs] %s\n" % (time.time() - self.t0, msg))
        sys.stderr.flush()
