"""Self-tests of the test bed: the registry, token server, PKI and builder are real.

Run with ``python -m pytest tests/testbed -q``. They need ``/usr/bin/docker-registry``,
``skopeo`` and ``umoci``; each test starts its own registry (about 0.1 s each).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocikit_testbed import (
    PKI,
    BuiltImage,
    Fault,
    FaultProxy,
    LayerSpec,
    Registry,
    RegistryError,
    build_image,
    build_index,
    http_date,
)
from ocikit_testbed import registry as registry_module

TESTBED_DIR = Path(__file__).resolve().parent
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run skopeo without any policy.json lookup; fail with its stderr."""
    result = subprocess.run(
        ["skopeo", "--insecure-policy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"skopeo {' '.join(args)} failed:\n{result.stderr}")
    return result


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """A small two-layer OCI image shared by the registry tests.

    Both layers are gzip: skopeo compresses uncompressed layers on their way to a
    registry, which would change the manifest digest (see test_uncompressed_layers).
    """
    layout = tmp_path_factory.mktemp("layout")
    return build_image(
        layout,
        "v1",
        layers=[LayerSpec(size=200_000, files=2), LayerSpec(size=3_000, compressible=0.9)],
        labels={"org.example": "testbed"},
    )


# -- PKI -------------------------------------------------------------------------------


def test_pki_writes_ca_server_and_client_files(tmp_path: Path) -> None:
    pki = PKI(tmp_path / "pki")
    server = pki.issue_server_cert()
    client = pki.issue_client_cert()
    cert_dir = pki.write_cert_dir(tmp_path / "certs", client=client)

    assert sorted(p.name for p in cert_dir.iterdir()) == ["ca.crt", "client.cert", "client.key"]
    assert (cert_dir / "ca.crt").read_bytes() == pki.ca_file.read_bytes()
    assert oct(server.key_file.stat().st_mode & 0o777) == "0o600"
    # OpenSSL accepts the chain for both names the registry is reached by.
    for flag, name in (("-verify_ip", "127.0.0.1"), ("-verify_hostname", "localhost")):
        result = subprocess.run(
            ["openssl", "verify", "-CAfile", str(pki.ca_file), flag, name, str(server.cert_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


# -- image builder ---------------------------------------------------------------------


def test_build_image_is_deterministic_and_self_consistent(tmp_path: Path) -> None:
    specs = [LayerSpec(size=100_000, files=3), LayerSpec(size=5_000, compression=None)]
    first = build_image(tmp_path / "a", "t", layers=specs, env={"FOO": "bar"})
    second = build_image(tmp_path / "b", "t", layers=specs, env={"FOO": "bar"})
    assert first.manifest_digest == second.manifest_digest
    assert first.layer_digests == second.layer_digests

    # Every blob's name is its digest, and sizes match the descriptors.
    manifest_bytes = first.blob_path(first.manifest_digest).read_bytes()
    assert sha256(manifest_bytes) == first.manifest_digest
    manifest = json.loads(manifest_bytes)
    assert manifest["mediaType"] == OCI_MANIFEST
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = first.blob_path(descriptor["digest"]).read_bytes()
        assert sha256(blob) == descriptor["digest"]
        assert len(blob) == descriptor["size"]

    config = first.config()
    assert config["rootfs"]["diff_ids"] == first.diff_ids
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert config["created"] == "2026-01-01T00:00:00Z"
    assert "FOO=bar" in config["config"]["Env"]
    assert len(config["history"]) == 2

    # The gzip layer is a real tar whose uncompressed digest is the diff_id.
    raw = gzip.decompress(first.blob_path(first.layer_digests[0]).read_bytes())
    assert sha256(raw) == first.diff_ids[0]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
    assert [m.size for m in files] == [33_333, 33_333, 33_334]
    # The uncompressed layer's digest is its diff_id.
    assert first.layers[1].digest == first.layers[1].diff_id

    index = json.loads((tmp_path / "a" / "index.json").read_text())
    assert index["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": first.manifest_digest,
            "size": first.manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": "t"},
        }
    ]


def test_seeds_platforms_and_retagging(tmp_path: Path) -> None:
    layout = tmp_path / "l"
    a = build_image(layout, "t", seed=1)
    b = build_image(layout, "t", seed=2)
    arm = build_image(layout, "arm", platform=("linux", "arm64", "v8"), seed=1)
    assert a.layer_digests != b.layer_digests
    assert arm.layer_digests != a.layer_digests
    assert arm.config()["variant"] == "v8"
    tags = json.loads((layout / "index.json").read_text())["manifests"]
    assert [(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"]) for m in tags] == [
        ("t", b.manifest_digest),
        ("arm", arm.manifest_digest),
    ]


@pytest.mark.parametrize(
    ("compressible", "low", "high"), [(0.0, 0.95, 1.05), (0.5, 0.4, 0.6), (1.0, 0.0, 0.05)]
)
def test_compressibility(tmp_path: Path, compressible: float, low: float, high: float) -> None:
    built = build_image(tmp_path, layers=[LayerSpec(size=1_000_000, compressible=compressible)])
    ratio = built.layers[0].size / built.layers[0].uncompressed_size
    assert low <= ratio <= high


def test_docker_media_types(tmp_path: Path) -> None:
    built = build_image(
        tmp_path / "d", media="docker", layers=[LayerSpec(), LayerSpec(compression=None)]
    )
    manifest = built.manifest()
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
    ]
    with pytest.raises(ValueError, match="zstd"):
        build_image(tmp_path / "z", media="docker", layers=[LayerSpec(compression="zstd")])


def test_zstd_layer(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    built = build_image(tmp_path, layers=[LayerSpec(size=50_000, compression="zstd")])
    layer = built.layers[0]
    assert layer.media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
    raw = (
        zstandard.ZstdDecompressor()
        .stream_reader(built.blob_path(layer.digest).read_bytes())
        .read()
    )
    assert sha256(raw) == layer.diff_id


def test_umoci_accepts_layout(tmp_path: Path, image: BuiltImage) -> None:
    result = subprocess.run(
        ["umoci", "stat", "--json", "--image", f"{image.layout_dir}:{image.tag}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    history = json.loads(result.stdout)["history"]
    assert [entry["layer"]["digest"] for entry in history] == image.layer_digests
    assert [entry["diff_id"] for entry in history] == image.diff_ids


def test_build_index_platforms(tmp_path: Path) -> None:
    built = build_index(tmp_path, "multi")
    index = built.index()
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert built.image_for("linux", "arm64", "v8").config()["architecture"] == "arm64"
    # Only the index is tagged; the per-platform manifests hang off it.
    tags = json.loads((tmp_path / "index.json").read_text())["manifests"]
    assert [m["digest"] for m in tags] == [built.digest]

    docker = build_index(tmp_path / "d", "multi", media="docker")
    assert docker.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert {m["mediaType"] for m in docker.index()["manifests"]} == {DOCKER_MANIFEST}


# -- registry variants -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tls", "auth"),
    [(False, None), (True, None), (True, "htpasswd"), (True, "token")],
    ids=["plain", "tls", "htpasswd", "token"],
)
def test_push_inspect_and_access_log(
    tmp_path: Path, image: BuiltImage, tls: bool, auth: str | None
) -> None:
    with Registry(tmp_path / "reg", tls=tls, auth=auth) as reg:  # type: ignore[arg-type]
        assert reg.url.startswith("https://" if tls else "http://")
        with reg.http_client() as client:
            response = client.get("/v2/")
        if auth is None:
            assert response.status_code == 200
        else:
            assert response.status_code == 401
            challenge = response.headers["WWW-Authenticate"]
            if auth == "htpasswd":
                assert challenge == 'Basic realm="ocikit-testbed"'
            else:
                assert reg.token_server is not None
                assert challenge == (
                    f'Bearer realm="{reg.token_server.realm}",service="ocikit-testbed-registry"'
                )

        reg.wait_for_request("GET", "/v2/")
        reg.clear_requests()
        assert reg.requests() == []
        skopeo(
            "copy",
            image.oci_ref,
            f"docker://{reg.ref('team/app', 'v1')}",
            *reg.skopeo_flags("dest"),
        )
        put = reg.wait_for_request("PUT", "/v2/team/app/manifests/v1")
        assert put["status"] == 201
        # skopeo asks for every blob before uploading it.
        heads = {r["path"] for r in reg.requests() if r["method"] == "HEAD"}
        assert heads >= {f"/v2/team/app/blobs/{d}" for d in image.blob_digests}

        inspected = json.loads(
            skopeo("inspect", f"docker://{reg.ref('team/app', 'v1')}", *reg.skopeo_flags("")).stdout
        )
        assert inspected["Digest"] == image.manifest_digest
        assert inspected["Labels"] == {"org.example": "testbed"}
        assert inspected["Layers"] == image.layer_digests

        if auth == "token":
            assert reg.token_server is not None
            pushes = [
                r for r in reg.token_server.requests if "repository:team/app:pull,push" in r.scopes
            ]
            assert pushes and pushes[0].user == "alice"
            assert pushes[0].granted == (
                {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
            )


def test_wrong_password_is_refused(tmp_path: Path, image: BuiltImage) -> None:
    with (
        Registry(tmp_path / "h", auth="htpasswd") as htpasswd,
        Registry(tmp_path / "t", auth="token") as token,
    ):
        for reg in (htpasswd, token):
            flags = [*reg.skopeo_flags("dest", creds=False), "--dest-creds", "alice:wrong"]
            result = skopeo(
                "copy", image.oci_ref, f"docker://{reg.ref('r', 'x')}", *flags, check=False
            )
            assert result.returncode != 0
            assert "unauthorized" in result.stderr.lower() or "401" in result.stderr
        assert token.token_server is not None
        assert {(r.attempted_user, r.status) for r in token.token_server.requests} == {
            ("alice", 401)
        }
        with token.http_client() as client:
            bad = client.get(
                f"{token.token_server.realm}?service=x&scope=repository:r:pull",
                auth=("alice", "nope"),
            )
        assert bad.status_code == 401


def test_token_policy_and_registry_verification(tmp_path: Path) -> None:
    with Registry(tmp_path / "reg", auth="token", token_expires_in=30) as reg:
        ts = reg.token_server
        assert ts is not None
        with reg.http_client() as client:
            # Anonymous callers get a token that grants nothing.
            anon = client.get(
                ts.realm, params={"service": ts.service, "scope": "repository:r:pull"}
            ).json()
            assert jwt.decode(anon["token"], options={"verify_signature": False})["access"] == []
            ts.anonymous_pull = True
            anon = client.get(
                ts.realm, params=[("service", ts.service), ("scope", "repository:r:pull,push")]
            ).json()
            assert jwt.decode(anon["token"], options={"verify_signature": False})["access"] == [
                {"type": "repository", "name": "r", "actions": ["pull"]}
            ]

            body = client.get(
                ts.realm,
                params=[("service", ts.service), ("scope", "registry:catalog:*")],
                auth=reg.credentials,
            ).json()
            assert body["expires_in"] == 30 and body["token"] == body["access_token"]
            assert body["issued_at"].endswith("Z")
            header = jwt.get_unverified_header(body["token"])
            assert header["alg"] == "ES256" and len(header["x5c"]) == 1

            # The registry accepts our JWT ...
            ok = client.get("/v2/_catalog", headers={"Authorization": f"Bearer {body['token']}"})
            assert ok.status_code == 200, ok.text
            # ... and really verifies it: a token from an untrusted issuer is refused.
            catalog = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
            ts.issuer = "someone-else"
            forged = ts.issue_token("alice", catalog)
            refused = client.get("/v2/_catalog", headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401

            # ... and an expired one (beyond distribution's 60 s leeway) too.
            ts.issuer = "ocikit-testbed-token-server"
            expired = ts.issue_token("alice", catalog, issued_at=int(time.time()) - 1000)
            refused = client.get("/v2/_catalog", headers={"Authorization": f"Bearer {expired}"})
            assert refused.status_code == 401

            # OAuth2 POST with a refresh token round trip.
            first = client.post(
                ts.realm,
                data={
                    "grant_type": "password",
                    "username": "alice",
                    "password": "wonderland",
                    "service": ts.service,
                    "scope": "repository:r:pull",
                    "access_type": "offline",
                },
            ).json()
            second = client.post(
                ts.realm,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": first["refresh_token"],
                    "service": ts.service,
                    "scope": "repository:r:push",
                },
            ).json()
            claims = jwt.decode(second["access_token"], options={"verify_signature": False})
            assert claims["sub"] == "alice" and claims["access"][0]["actions"] == ["push"]
        assert [r.grant_type for r in ts.requests[-2:]] == ["password", "refresh_token"]


def test_token_push_and_index(tmp_path: Path) -> None:
    oci = build_index(tmp_path / "oci", "multi")
    docker = build_index(tmp_path / "docker", "multi", media="docker")
    with Registry(tmp_path / "reg", auth="token") as reg:
        for name, built, source in (
            ("oci", oci, oci.oci_ref),
            # skopeo's oci: transport ignores Docker-typed index.json entries: use dir:.
            ("docker", docker, docker.to_dir(tmp_path / "docker-dir")),
        ):
            dest = f"docker://{reg.ref(name, 'multi')}"
            skopeo("copy", "--all", source, dest, *reg.skopeo_flags("dest"))
            raw = skopeo("inspect", "--raw", dest, *reg.skopeo_flags("")).stdout
            assert sha256(raw.encode()) == built.digest


def test_uncompressed_layers(tmp_path: Path) -> None:
    built = build_image(tmp_path / "l", layers=[LayerSpec(size=10_000, compression=None)])
    with Registry(tmp_path / "reg", tls=False) as reg:
        digests = {}
        for tag, extra in (("default", []), ("preserved", ["--preserve-digests"])):
            dest = f"docker://{reg.ref('u', tag)}"
            skopeo("copy", *extra, built.oci_ref, dest, *reg.skopeo_flags("dest"))
            digests[tag] = sha256(
                skopeo("inspect", "--raw", dest, *reg.skopeo_flags("")).stdout.encode()
            )
    # skopeo gzips an uncompressed layer for a registry unless told to preserve digests.
    assert digests["default"] != built.manifest_digest
    assert digests["preserved"] == built.manifest_digest


@pytest.mark.parametrize("enabled", [False, True])
def test_schema1_switch(tmp_path: Path, enabled: bool) -> None:
    built = build_image(tmp_path / "l", media="docker")
    with Registry(tmp_path / "reg", tls=False, schema1=enabled) as reg:
        result = skopeo(
            "copy",
            "--format",
            "v2s1",
            built.to_dir(tmp_path / "d"),
            f"docker://{reg.ref('old', 'v1')}",
            *reg.skopeo_flags("dest"),
            check=False,
        )
        assert (result.returncode == 0) == enabled, result.stderr
        # distribution 2.8 answers a disabled schema1 PUT with 500 UNKNOWN, not a 4xx.
        assert reg.wait_for_request("PUT", "/v2/old/manifests/v1")["status"] == (
            201 if enabled else 500
        )


@pytest.mark.parametrize("delete", [True, False])
def test_delete_switch(tmp_path: Path, image: BuiltImage, delete: bool) -> None:
    with Registry(tmp_path / "reg", tls=False, delete=delete) as reg:
        skopeo("copy", image.oci_ref, f"docker://{reg.ref('d', 'v1')}", *reg.skopeo_flags("dest"))
        with reg.http_client() as client:
            response = client.delete(f"/v2/d/manifests/{image.manifest_digest}")
        assert response.status_code == (202 if delete else 405)


def test_mutual_tls(tmp_path: Path, image: BuiltImage) -> None:
    with Registry(tmp_path / "reg", client_certs=True) as reg:
        assert sorted(p.name for p in reg.cert_dir.iterdir()) == [
            "ca.crt",
            "client.cert",
            "client.key",
        ]
        skopeo("copy", image.oci_ref, f"docker://{reg.ref('m', 'v1')}", *reg.skopeo_flags("dest"))
        # Without a client certificate the TLS handshake itself fails.
        verify = ssl.create_default_context(cafile=reg.ca_file)
        with httpx.Client(verify=verify) as anonymous, pytest.raises(httpx.HTTPError):
            anonymous.get(f"{reg.url}/v2/")


def test_stop_kills_and_cleans(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg").start()
    pid = reg._process.pid  # type: ignore[union-attr]
    assert reg.storage_dir.is_dir()
    reg.stop()
    assert not reg.running and not reg.storage_dir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # keep=True leaves the data for a post-mortem.
    kept = Registry(tmp_path / "kept").start()
    kept.stop(keep=True)
    assert kept.storage_dir.is_dir()


def test_start_failure_reports_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-registry"
    fake.write_text("#!/bin/sh\necho 'configuration error: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(registry_module, "REGISTRY_BINARY", str(fake))
    with pytest.raises(RegistryError, match=r"(?s)status 3.*configuration error: boom"):
        Registry(tmp_path / "reg").start()


def test_cli_serve_and_build(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTBED_DIR)}
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "ocikit_testbed",
            "build-image",
            "--layout",
            str(tmp_path / "l"),
            "--tag",
            "t",
            "--layer-size",
            "1000",
            "--layer-size",
            "2000",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(built.stdout)
    assert len(result["layers"]) == 2 and result["oci_ref"] == f"oci:{tmp_path / 'l'}:t"

    workdir = tmp_path / "serve"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocikit_testbed",
            "serve",
            "--workdir",
            str(workdir),
            "--auth",
            "htpasswd",
            "--user",
            "bob:builder",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not (workdir / "env.json").exists():
            assert server.poll() is None and time.monotonic() < deadline, server.communicate()
            time.sleep(0.05)
        info = json.loads((workdir / "env.json").read_text())
        assert info["users"] == {"bob": "builder"}
        assert Path(info["cert_dir"], "ca.crt").is_file()
        with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"])) as client:
            assert client.get(f"{info['url']}/v2/", auth=("bob", "builder")).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=10)
    assert server.returncode == 0, err
    assert json.loads(out)["url"] == info["url"]
    assert not (workdir / "env.json").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(
            f"{info['url']}/v2/",
            verify=ssl.create_default_context(cafile=info["ca_file"]),
            timeout=2,
        )


def test_fault_proxy_kinds_seen_from_a_client(tmp_path: Path) -> None:
    """Every kind does what it says, on the wire, and rules fire on the occurrences asked for."""
    with Registry(tmp_path / "reg") as reg, FaultProxy(reg) as proxy:
        ctx = reg.ssl_context()

        def get(path: str = "/v2/", **kwargs: object) -> httpx.Response:
            with httpx.Client(base_url=f"https://{proxy.host}", verify=ctx, timeout=5) as client:
                return client.get(path, **kwargs)  # type: ignore[arg-type]

        assert get().json() == {}
        # Uploads pass untouched, chunked ones included; Locations name the proxy (the Host it was asked as).
        with httpx.Client(base_url=f"https://{proxy.host}", verify=ctx, timeout=5) as client:
            opened = client.post("/v2/up/blobs/uploads/")
            assert opened.headers["location"].startswith(f"https://{proxy.host}/")
            patched = client.patch(opened.headers["location"], content=iter([b"ab", b"cd"]))
            location = patched.headers["location"] + "&digest=" + sha256(b"abcd").replace(":", "%3A")
            assert client.put(location).status_code == 201
            assert client.get(f"/v2/up/blobs/{sha256(b'abcd')}").content == b"abcd"
        rule = proxy.add_fault("status", "GET", r"^/v2/$", skip=1, times=2, status=429, retry_after=http_date(30))
        assert [get().status_code for dummy in range(4)] == [200, 429, 429, 200]
        assert (rule.seen, rule.hits) == (3, 2)
        proxy.clear_faults()
        proxy.add_fault("status", "GET", "/v2/", status=503, retry_after="7")
        answer = get()
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "7")
        assert answer.json()["errors"][0]["code"] == "UNAVAILABLE"
        for kind, error in [("reset_after", "received 1 bytes, expected 2"), ("truncate", "received 1 bytes, expected 2"),
                            ("drop_response", "without sending a response"), ("endless", "incomplete chunked read")]:
            proxy.add_fault(kind, "GET", "/v2/", nbytes=1, seconds=1)
            with pytest.raises(httpx.RemoteProtocolError, match=re.escape(error)):
                get()
        proxy.add_fault("stall", "GET", "/v2/", nbytes=1, seconds=30)
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"https://{proxy.host}/v2/", verify=ctx, timeout=0.5)
        assert time.monotonic() - started < 5
        for kind, body in [("lengthen", b"{}" + b"#" * 50), ("corrupt", bytes(b ^ 0xFF for b in b"{}")),
                           ("deep_json", b"[" * 50 + b"]" * 50)]:
            proxy.add_fault(kind, "GET", "/v2/", nbytes=50)
            assert get().content == body
        proxy.add_fault("oversize", "GET", "/v2/", seconds=5)
        with httpx.stream("GET", f"https://{proxy.host}/v2/", verify=ctx) as answer:
            assert answer.headers["content-length"] == str(1 << 40)
            assert len(next(answer.iter_raw())) > 0
        proxy.add_fault("redirect", "GET", "/v2/")
        moved = get(headers={"Authorization": "Basic c2VjcmV0"})
        assert moved.status_code == 307
        assert moved.headers["location"].startswith(f"https://{proxy.recorder_host}/stash/")
        proxy.add_fault("redirect", "GET", "/v2/")
        again = get(headers={"Authorization": "Basic c2VjcmV0"}, follow_redirects=True)
        assert again.json() == {} and again.url.port != proxy.port
        assert [r.headers.get("Authorization") for r in proxy.recorded] == [None]  # httpx drops it across origins
        assert [r.fault for r in proxy.requests][-3:] == ["oversize", "redirect", "redirect"]
        assert all(r.authorization for r in proxy.requests[-2:])


def test_fault_proxy_revoke_gets_the_registry_challenge_and_stop_ends_stalls(tmp_path: Path) -> None:
    with Registry(tmp_path / "reg", auth="htpasswd") as reg:
        proxy = FaultProxy(reg).start()
        try:
            with httpx.Client(base_url=f"https://{proxy.host}", verify=reg.ssl_context(), auth=reg.credentials, timeout=5) as client:
                assert client.get("/v2/").status_code == 200
                proxy.add_fault("revoke", path="/v2/")
                refused = client.get("/v2/")
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == 'Basic realm="ocikit-testbed"'
                assert client.get("/v2/").status_code == 200
                proxy.add_fault("stall", "GET", "/v2/", seconds=60)
                stopper = threading.Timer(0.5, proxy.stop)
                stopper.start()
                started = time.monotonic()
                with pytest.raises(httpx.TransportError):
                    client.get("/v2/")
                assert time.monotonic() - started < 4
                stopper.join()
        finally:
            proxy.stop()
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_fault_proxy_delay_adds_a_round_trip_per_request_and_two_per_connection(tmp_path: Path) -> None:
    """Latency mode: 3 x delay for a new connection's first request, 1 x delay for each further one, TLS verified."""
    delay = 0.25
    with Registry(tmp_path / "reg") as reg, FaultProxy(reg, delay=delay) as proxy:
        with httpx.Client(base_url=f"https://{proxy.host}", verify=reg.ssl_context(), timeout=5) as client:
            started = time.monotonic()
            assert client.get("/v2/").status_code == 200
            first = time.monotonic() - started
            started = time.monotonic()
            assert client.get("/v2/").status_code == 200
            second = time.monotonic() - started
        assert 3 * delay <= first < 3 * delay + 1.0
        assert delay <= second < 2 * delay
        assert len(proxy.requests) == 2
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://{proxy.host}/v2/", verify=ssl.create_default_context(), timeout=5)
        with pytest.raises(ValueError, match="delay must be within"):
            FaultProxy(reg, delay=-1)


@pytest.fixture(autouse=True)
def _no_leaked_registries() -> Iterator[None]:
    yield
    assert not registry_module._live, f"registries left running: {registry_module._live}"
