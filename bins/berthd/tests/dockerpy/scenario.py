"""docker-py (PyPI `docker`) against berthd: the calls users' scripts and tools make
(images, runs, exec, logs, kill/wait/rm, volumes, events, restart policies, health checks,
networks, builds).

Run by bins/berthd/tests/it/dockerpy.rs with DOCKER_HOST pointing at a private berthd that
has IMAGE loaded. Every check is an assert; the first failure ends the run with a traceback.
"""
import os
import sys
import time

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
    step("volumes: create, use from two containers, in-use refusal, remove")
    vol = c.volumes.create("pyvol", labels={"k": "v"})
    assert vol.name == "pyvol" and vol.attrs["Labels"] == {"k": "v"}, vol.attrs
    c.containers.run(IMAGE, [BB, "sh", "-c", "echo data > /v/f"], volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
    out = c.containers.run(IMAGE, [BB, "cat", "/v/f"], volumes=["pyvol:/v:ro"], remove=True)
    assert out == b"data\n", out
    holder = c.containers.create(IMAGE, [BB, "true"], volumes=["pyvol:/v"])
    try:
        vol.remove()
        raise AssertionError("removed a volume in use")
    except APIError as e:
        assert e.status_code == 409, e
    holder.remove()
    vol.remove()
    assert "pyvol" not in [v.name for v in c.volumes.list()]

    step("events: a container's create/start/die/destroy, in order")
    t0 = time.time() - 1
    c.containers.run(IMAGE, [BB, "sh", "-c", "exit 2"], name="pyev", detach=True).wait()
    c.containers.get("pyev").remove()
    t1 = time.time() + 1
    evs = [e for e in c.events(since=int(t0), until=int(t1) + 1, decode=True,
                                filters={"container": "pyev"})]
    actions = [e["Action"] for e in evs]
    for a in ["create", "start", "die", "destroy"]:
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy"), actions
    die = [e for e in evs if e["Action"] == "die"][0]
    assert die["Actor"]["Attributes"]["exitCode"] == "2", die

    step("restart policy on-failure:2")
    ct = c.containers.run(IMAGE, [BB, "sh", "-c", "exit 1"], detach=True, name="pyrestart",
                          restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    deadline = time.time() + 15
    while True:
        ct.reload()
        if ct.status == "exited" and ct.attrs["RestartCount"] == 2:
            break
        assert time.time() < deadline, (ct.status, ct.attrs["RestartCount"])
        time.sleep(0.1)
    ct.remove()

    step("health check: starting, then healthy")
    ct = c.containers.run(IMAGE, [BB, "sleep", "1000"], detach=True, name="pyhealth",
                          healthcheck={"Test": ["CMD-SHELL", "test -e /tmp/ok"],
                                       "Interval": 200_000_000, "Retries": 2})
    ct.exec_run([BB, "touch", "/tmp/ok"])
    deadline = time.time() + 15
    while True:
        ct.reload()
        health = ct.attrs["State"].get("Health") or {}
        if health.get("Status") == "healthy":
            break
        assert time.time() < deadline, health
        time.sleep(0.1)
    ct.remove(force=True)
    assert not c.containers.list(all=True)

    step("networks: create, run on it with a published port, reach by name, connect, remove")
    net = c.networks.create("pynet", driver="bridge", labels={"team": "py"})
    assert net.name == "pynet" and net.attrs["Driver"] == "bridge", net.attrs
    assert c.networks.get("pynet").id == net.id
    assert "pynet" in [n.name for n in c.networks.list(filters={"label": "team=py"})]
    web = c.containers.run(IMAGE, [BB, "httpd", "-f", "-p", "80", "-h", "/etc"], detach=True,
                           name="pyweb", network="pynet", ports={"80/tcp": None})
    web.reload()
    ports = web.attrs["NetworkSettings"]["Ports"]["80/tcp"]
    assert ports and int(ports[0]["HostPort"]) > 0, ports
    assert web.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"], web.attrs
    assert web.ports["80/tcp"][0]["HostPort"] == ports[0]["HostPort"]
    probe = ("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | "
             f"{BB} nc -w 2 pyweb 80 | {BB} tail -n 1")
    deadline = time.time() + 10
    while True:
        out = c.containers.run(IMAGE, [BB, "sh", "-c", probe], network="pynet", remove=True)
        if out.decode().strip() == web.id[:12]:
            break
        assert time.time() < deadline, out
        time.sleep(0.2)
    other = c.networks.create("pyother")
    other.connect(web, aliases=["site"])
    web.reload()
    assert "pyother" in web.attrs["NetworkSettings"]["Networks"], web.attrs
    assert "site" in web.attrs["NetworkSettings"]["Networks"]["pyother"]["Aliases"]
    other.disconnect(web)
    try:
        net.remove()
        raise AssertionError("a network with a running container was removed")
    except APIError as e:
        assert e.status_code == 403, e
    web.remove(force=True)
    net.remove()
    other.remove()
    try:
        c.networks.get("pynet")
        raise AssertionError("removed network still there")
    except NotFound:
        pass

    step("build from a Dockerfile (the legacy builder's /build)")
    import io
    dockerfile = (f"FROM {IMAGE}\nARG WHO=py\nRUN {BB} echo built-by-$WHO > /who\n"
                  f"CMD [\"{BB}\", \"cat\", \"/who\"]\n")
    built, logs = c.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="py/built:1",
                                 buildargs={"WHO": "docker-py"}, rm=True)
    assert "py/built:1" in built.tags, built.tags
    assert any("Step 1/4" in (l.get("stream") or "") for l in logs), logs
    assert c.containers.run("py/built:1", remove=True) == b"built-by-docker-py\n"
    try:
        c.images.build(fileobj=io.BytesIO(b"FROM " + IMAGE.encode() + b"\nRUN " + BB.encode() + b" false\n"))
        raise AssertionError("a failing RUN built")
    except docker.errors.BuildError as e:
        assert "non-zero code" in str(e), e
    c.images.remove("py/built:1")

    print("docker-py scenario: all checks passed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
