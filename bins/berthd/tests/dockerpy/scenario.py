"""docker-py (PyPI `docker`) against berthd: the calls users' scripts and tools make.

Run by bins/berthd/tests/it/dockerpy.rs with DOCKER_HOST pointing at a private berthd that
has IMAGE loaded. Every check is an assert; the first failure ends the run with a traceback.
"""
import os
import sys

import docker
from docker.errors import APIError, ImageNotFound, NotFound

IMAGE = os.environ.get("IMAGE", "bench/load:latest")
BB = "/bin/busybox"


def step(name):
    print(f"== {name}", flush=True)


def main():
    c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="auto")

    step("ping, version, info")
    assert c.ping() is True
    v = c.version()
    assert v["ApiVersion"] and v["Os"] == "linux", v
    assert c.info()["Containers"] >= 0

    step("images")
    img = c.images.get(IMAGE)
    assert IMAGE in img.tags, img.tags
    assert img.tag("py/copy", "1") is True
    assert "py/copy:1" in c.images.get("py/copy:1").tags
    c.images.remove("py/copy:1")
    try:
        c.images.get("py/copy:1")
        raise AssertionError("removed tag still there")
    except ImageNotFound:
        pass

    step("run in the foreground: stdout back, container removed")
    out = c.containers.run(IMAGE, [BB, "sh", "-c", "echo hello; echo err >&2"], remove=True)
    assert out == b"hello\n", out
    assert not c.containers.list(all=True), "run --rm left a container"

    step("a failing run raises ContainerError with the exit code")
    try:
        c.containers.run(IMAGE, [BB, "sh", "-c", "echo bad >&2; exit 4"], remove=True)
        raise AssertionError("no ContainerError")
    except docker.errors.ContainerError as e:
        assert e.exit_status == 4, e.exit_status

    step("detached: env, labels, inspect, logs, exec")
    ct = c.containers.run(
        IMAGE,
        [BB, "sh", "-c", "echo started; exec " + BB + " sleep 1000"],
        detach=True,
        name="py1",
        environment={"A": "1"},
        labels={"k": "v"},
        working_dir="/tmp",
    )
    ct.reload()
    assert ct.status == "running", ct.status
    assert ct.name == "py1" and ct.labels == {"k": "v"}, (ct.name, ct.labels)
    assert "A=1" in ct.attrs["Config"]["Env"], ct.attrs["Config"]["Env"]
    r = ct.exec_run([BB, "sh", "-c", "echo $A; pwd; exit 3"])
    assert r.exit_code == 3 and r.output == b"1\n/tmp\n", r
    r = ct.exec_run([BB, "sh", "-c", "echo o; echo e >&2"], demux=True)
    assert r.exit_code == 0 and r.output == (b"o\n", b"e\n"), r
    r = ct.exec_run([BB, "id", "-u"], user="1000")
    assert r.output == b"1000\n", r
    assert ct.logs() == b"started\n", ct.logs()
    assert [x.name for x in c.containers.list()] == ["py1"]

    step("kill, wait, remove; errors")
    ct.kill()
    assert ct.wait()["StatusCode"] == 137
    ct.reload()
    assert ct.status == "exited" and ct.attrs["State"]["ExitCode"] == 137
    try:
        ct.exec_run([BB, "true"])
        raise AssertionError("exec in a stopped container succeeded")
    except APIError as e:
        assert e.status_code == 409, e
    ct.remove()
    try:
        c.containers.get("py1")
        raise AssertionError("removed container still there")
    except NotFound:
        pass
    try:
        c.containers.create("nope/missing:1")
        raise AssertionError("created from a missing image")
    except ImageNotFound:
        pass

    step("create + start + wait from the low-level client")
    api = c.api
    cid = api.create_container(IMAGE, [BB, "sh", "-c", "exit 9"])["Id"]
    api.start(cid)
    assert api.wait(cid)["StatusCode"] == 9
    api.remove_container(cid)
    assert not c.containers.list(all=True)
    print("docker-py scenario: all checks passed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
