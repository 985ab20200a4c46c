"""Command line for the demo, benchmarks and integration targets.

``python -m ocikit_testbed serve --workdir DIR [--tls] [--auth htpasswd|token]
[--user alice:wonderland ...]`` starts a registry (and token server), writes
``DIR/env.json`` and stays up until SIGTERM/SIGINT.

``python -m ocikit_testbed build-image --layout DIR --tag T [--layer-size N ...]
[--media oci|docker] [--platform linux/arm64/v8 ...]`` builds an image (an index when
given several platforms) and prints its digests as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .images import BuiltImage, BuiltIndex, LayerSpec, Platform, build_image, build_index
from .registry import Registry


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m ocikit_testbed")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a registry until SIGTERM/SIGINT")
    serve.add_argument("--workdir", type=Path, required=True)
    serve.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve HTTPS with a throwaway CA (default); --no-tls for HTTP",
    )
    serve.add_argument("--auth", choices=["htpasswd", "token"], default=None)
    serve.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="a user (repeatable; default alice:wonderland)",
    )
    serve.add_argument("--no-delete", action="store_true", help="disable deletes")
    serve.add_argument("--schema1", action="store_true", help="accept schema1 manifests")
    serve.add_argument("--client-certs", action="store_true", help="require mutual TLS")
    serve.add_argument("--token-expires-in", type=int, default=300)
    serve.add_argument("--anonymous-pull", action="store_true")

    build = commands.add_parser("build-image", help="build an image into an OCI layout")
    build.add_argument("--layout", type=Path, required=True)
    build.add_argument("--tag", default="latest")
    build.add_argument(
        "--layer-size",
        type=int,
        action="append",
        default=[],
        metavar="BYTES",
        help="one layer of this many content bytes (repeatable)",
    )
    build.add_argument("--compressible", type=float, default=0.5)
    build.add_argument("--compression", choices=["gzip", "zstd", "none"], default="gzip")
    build.add_argument("--files", type=int, default=1, help="files per layer")
    build.add_argument("--media", choices=["oci", "docker"], default="oci")
    build.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH[/VARIANT]",
        help="repeat for a multi-platform index",
    )
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    build.add_argument(
        "--dir", type=Path, default=None, help="also export as a skopeo dir: image here"
    )

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _build(args)


def _serve(args: argparse.Namespace) -> int:
    users = dict(u.split(":", 1) for u in args.user) if args.user else None
    registry = Registry(
        args.workdir,
        tls=args.tls,
        auth=args.auth,
        users=users,
        delete=not args.no_delete,
        schema1=args.schema1,
        client_certs=args.client_certs,
        token_expires_in=args.token_expires_in,
        anonymous_pull=args.anonymous_pull,
    )
    stop = threading.Event()
    # Handlers first: a SIGTERM arriving during start-up must still stop the registry.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with registry:
        env: dict[str, Any] = {
            "host": registry.host,
            "url": registry.url,
            "tls": registry.tls,
            "auth": registry.auth,
            "ca_file": str(registry.ca_file) if registry.tls else None,
            "cert_dir": str(registry.cert_dir) if registry.tls else None,
            "certs_d": str(registry.certs_d) if registry.tls else None,
            "users": registry.users,
            "token_realm": registry.token_server.realm if registry.token_server else None,
            "pid": os.getpid(),
        }
        env_file = Path(args.workdir) / "env.json"
        tmp = env_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(env, indent=2) + "\n")
        # Rename last: whoever polls for env.json sees it only once the registry is up.
        tmp.replace(env_file)
        print(json.dumps(env), flush=True)
        while not stop.wait(1.0):
            if not registry.running:
                print("registry exited unexpectedly", file=sys.stderr)
                return 1
    env_file.unlink(missing_ok=True)
    return 0


def _build(args: argparse.Namespace) -> int:
    compression = None if args.compression == "none" else args.compression
    sizes = args.layer_size or [64 * 1024]
    layers = [
        LayerSpec(
            size=size, compressible=args.compressible, compression=compression, files=args.files
        )
        for size in sizes
    ]
    labels = dict(item.split("=", 1) for item in args.label) or None
    platforms = [_parse_platform(p) for p in args.platform] or [("linux", "amd64", None)]
    built: BuiltImage | BuiltIndex
    if len(platforms) > 1:
        built = build_index(
            args.layout,
            args.tag,
            platforms,
            media=args.media,
            layers=layers,
            labels=labels,
            seed=args.seed,
        )
    else:
        built = build_image(
            args.layout,
            args.tag,
            layers=layers,
            media=args.media,
            labels=labels,
            platform=platforms[0],
            seed=args.seed,
        )
    result = asdict(built)
    result["oci_ref"] = built.oci_ref
    if args.dir is not None:
        result["dir_ref"] = built.to_dir(args.dir)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _parse_platform(text: str) -> Platform:
    parts = text.split("/")
    if len(parts) not in (2, 3):
        raise SystemExit(f"--platform wants OS/ARCH[/VARIANT], not {text!r}")
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else None)


if __name__ == "__main__":
    sys.exit(main())
