"""The service with ``--backend ray``: on a head started by ``ray start``, and on a two-node cluster
that loses a node mid-job (scale-out must survive a lost node).

Every Ray here is bound to loopback and kept apart from any other Ray on the machine:
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` stops Ray from swapping 127.0.0.1 for the machine's other
address (it does so on Linux, and then joins the wrong address on a machine that has several),
and a private ``RAY_TMPDIR`` keeps the cluster's address file away from other tests' ``ray.init()``.
Resources are tiny (tiny.en, half a CPU per actor) and every wait has a deadline.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import LONG_SENTENCES, speak
from test_service_support import JOB_TIMEOUT, START_TIMEOUT, Server, free_port, serve_folder, words

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
if importlib.util.find_spec("ray") is None:  # found, not imported: importing Ray costs seconds
    pytest.skip("ray is not installed", allow_module_level=True)

pytestmark = pytest.mark.slow

#: The long clip: the 16 sentences forwards, backwards, forwards (about 2 min 10 s: 6 windows). Varied,
#: because Whisper drops a window whose text repeats itself (its compression-ratio check).
LONG_TEXT = " ".join([*LONG_SENTENCES, *reversed(LONG_SENTENCES), *LONG_SENTENCES])
#: A word of each sentence that even tiny.en gets right.
KEYWORDS = (
    "library",
    "grandmother",
    "taxi",
    "planet",
    "window",
    "castles",
    "london",
    "coffee",
    "championship",
    "village",
    "elephant",
    "bridge",
    "bicycle",
    "dinosaurs",
    "lighthouse",
)


@pytest.fixture()
def ray_env():
    """The environment of every Ray process of a test, and of the service that joins it."""
    folder = Path("/tmp") / f"rt-{os.getpid()}-{free_port()}"  # short: Ray's socket paths have a length limit
    folder.mkdir()
    # A loopback-only test cluster: no token auth (`ray start` turns it on where a ~/.ray/auth_token
    # exists; a real cluster's token goes to the service with RAY_AUTH_MODE=token).
    yield {
        "RAY_AUTH_MODE": "disabled",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_TMPDIR": str(folder),
        "RAY_DEDUP_LOGS": "0",
    }
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A short clip and a long one served on 127.0.0.1; yields (base URL, the long one's duration)."""
    from audiototext.media import probe

    folder = tmp_path_factory.mktemp("served")
    speak("I would like a cup of coffee.", "en-us", folder / "coffee.wav")
    speak(LONG_TEXT, "en-us", folder / "long.wav", speed=160)
    base, http = serve_folder(folder)
    yield base, probe(folder / "long.wav").duration
    http.shutdown()


def test_ray_backend_on_a_ray_start_head(tmp_path, media, ray_env):
    """Windows on the actors of a head the test starts with ``ray start`` on 127.0.0.1."""
    if shutil.which("ray") is None:
        pytest.skip("the ray command is not installed")
    port = free_port()
    head = subprocess.Popen(
        [
            "ray",
            "start",
            "--head",
            "--block",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            "2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={**os.environ, **ray_env},
    )
    server = Server(
        tmp_path / "data",
        "--engine",
        "faster-whisper",
        "--backend",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
        "--ray-actors",
        "1",
        "--ray-num-cpus",
        "1",
        env=ray_env,
    )
    try:
        server.start()
        call_id = server.submit("on-ray", f"{media[0]}/coffee.wav")
        final = server.wait(call_id)
        assert final["status"] == "done" and final["tasks"] == 1, (final, server.log_text())
        assert "coffee" in words(server.text("on-ray"))
        log = server.log_text(tail=None)
        assert f"Joined Ray at 127.0.0.1:{port}" in log and "Decoding on 1 Ray actor" in log
    finally:
        server.stop()
        head.terminate()  # `ray start --block` stops the processes it started on SIGTERM
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait(30)


# A two-node cluster (ray.cluster_utils.Cluster) in its own process, driven by lines on stdin.
CLUSTER_SCRIPT = """
import json, sys
from ray.cluster_utils import Cluster

node = dict(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=100 * 1024 * 1024)
cluster = Cluster(initialize_head=True, head_node_args=dict(node, gcs_server_port=int(sys.argv[1]),
                                                             include_dashboard=False))
worker = cluster.add_node(**node)
raylet = lambda n: n.all_processes["raylet"][0].process.pid
print(json.dumps({"address": cluster.address, "head": raylet(cluster.head_node), "worker": raylet(worker)}),
      flush=True)
for line in sys.stdin:
    if line.strip() == "remove-worker":
        cluster.remove_node(worker, allow_graceful=False)
        print(json.dumps({"removed": True}), flush=True)
    else:
        break
cluster.shutdown()
"""


class TwoNodes:
    """A head and a worker node of one CPU each, on 127.0.0.1, in a child process."""

    def __init__(self, env: dict):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLUSTER_SCRIPT, str(free_port())],
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()
        self.info = self.read(START_TIMEOUT)

    def read(self, timeout: float) -> dict:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            pytest.fail(f"the Ray cluster did not answer in {timeout} s")

    def remove_worker(self) -> None:
        self.proc.stdin.write("remove-worker\n")
        self.proc.stdin.flush()
        assert self.read(120)["removed"]

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(120)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(30)


def actors_under(raylet: int) -> dict[int, str]:
    """The Ray actor processes (``ray::_RayWorker``) a node's raylet started, with their titles: Ray
    titles an actor ``ray::_RayWorker.decode`` while it runs a batch."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if title.startswith("ray::_RayWorker") and parent == raylet:
            found[int(entry.name)] = title
    return found


def stop_a_decoding_actor(raylet: int, server: Server, call_id: str) -> int:
    """Stop (SIGSTOP) an actor of the node while it runs a batch, so that the batch is in flight for
    sure when the node goes; its pid. tiny.en decodes a window in about a second, so a node removed
    at a moment picked by the job's progress could find its actor done with its last batch already
    (Ray then restarts the actor elsewhere and nothing is lost: the test would prove nothing)."""
    deadline = time.monotonic() + JOB_TIMEOUT
    checked = time.monotonic()
    while time.monotonic() < deadline:
        for pid, title in actors_under(raylet).items():
            if title.startswith("ray::_RayWorker.decode"):
                os.kill(pid, signal.SIGSTOP)
                if actors_under(raylet).get(pid, "").startswith("ray::_RayWorker.decode"):
                    return pid  # stopped inside the batch
                os.kill(pid, signal.SIGCONT)  # it ended the batch before the signal: wait for the next
        if time.monotonic() - checked > 0.5:
            checked = time.monotonic()
            assert not server.status(call_id)["finished"], "the job finished before the worker's actor took a batch"
        time.sleep(0.01)
    pytest.fail(f"no actor of the worker node ran a batch in {JOB_TIMEOUT} s:\n{server.log_text()}")


def test_a_lost_node_mid_job_still_gives_complete_files(tmp_path, media, ray_env):
    """One job's windows on actors on both nodes; the worker node is removed while its actor runs a
    batch: that batch goes to the live actor, the job ends done with every window, and the status
    never tells a lie meanwhile."""
    cluster = TwoNodes(ray_env)
    server = Server(
        tmp_path / "data",
        "--engine",
        "faster-whisper",
        "--model",
        "tiny.en",
        "--backend",
        "ray",
        "--ray-address",
        cluster.info["address"],
        "--ray-actors",
        "2",
        "--ray-num-cpus",
        "0.5",
        "--batch-size",
        "1",
        env=ray_env,
    )
    try:
        server.start()
        base, long_duration = media
        call_id = server.submit("long-on-ray", f"{base}/long.wav", language="en")

        stopped = stop_a_decoding_actor(cluster.info["worker"], server, call_id)
        before = server.status(call_id)
        assert not before["finished"], before
        try:
            cluster.remove_worker()
        finally:  # the lost machine takes its processes with it; the stopped actor cannot see its raylet go
            os.kill(stopped, signal.SIGKILL)
        assert not actors_under(cluster.info["worker"])

        seen: list[dict] = []
        final = server.wait_until(call_id, lambda b: seen.append(b) or b["finished"], timeout=JOB_TIMEOUT)
        assert final["status"] == "done", (final, server.log_text())
        assert all(not b["finished"] for b in seen[:-1])  # finished only at the end
        assert all(b["done_segments"] >= before["done_segments"] for b in seen)  # never back
        assert all(b["tasks"] <= 2 for b in seen)
        assert final["done_segments"] == final["total_segments"] >= 5

        log = server.log_text(tail=None)
        assert "Decoding on 2 Ray actors" in log and re.search(r"Ray actor \d was lost", log), log
        result = server.request("GET", "/api/audio/long-on-ray").json()
        segments = result["segments"]
        text = words(" ".join(s["text"] for s in segments))
        # Every sentence is there, three times (tiny.en may miss a word here and there).
        assert all(text.count(word) >= 2 for word in KEYWORDS), text
        assert sum(min(3, text.count(word)) for word in KEYWORDS) >= 0.85 * 3 * len(KEYWORDS), text
        # No window lost: the speech is continuous, so no hole in the cues, and they reach the end.
        assert all(b["start"] - a["end"] < 10 for a, b in zip(segments, segments[1:])), segments
        assert segments[-1]["end"] > long_duration - 10
        assert server.request("GET", "/api/audio/long-on-ray.srt").status_code == 200
    finally:
        server.stop()
        cluster.close()
