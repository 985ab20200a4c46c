"""Offline image builder: writes OCI image layouts without any network or daemon.

``build_image`` writes one image (OCI or Docker schema2 media types) into an OCI image
layout and tags it in ``index.json``; ``build_index`` writes one image per platform plus
an OCI index (or a Docker manifest list) and tags that.

Layers are real tar archives of deterministic pseudo-random files: the same arguments
give the same bytes and so the same digests (on the same Python/zlib), which lets tests
assert exact digests and lets benchmarks rebuild identical inputs. ``compressible``
sets the share of each 64 KiB block that is a repeated pattern (the rest is random), so
a layer compresses to roughly ``1 - compressible`` of its size.

Everything streams: a layer is generated, tarred, hashed (uncompressed → diff_id),
compressed and hashed again (→ digest) on its way into a temp file beside its final
blob path, so a 1 GiB layer needs no more memory than a small one.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import random
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

__all__ = [
    "DEFAULT_CREATED",
    "MEDIA_TYPES",
    "BuiltImage",
    "BuiltIndex",
    "BuiltLayer",
    "LayerSpec",
    "Platform",
    "build_image",
    "build_index",
]

DEFAULT_CREATED = "2026-01-01T00:00:00Z"
DEFAULT_PLATFORMS: tuple[Platform, ...] = (("linux", "amd64", None), ("linux", "arm64", "v8"))
REF_NAME = "org.opencontainers.image.ref.name"

Platform = tuple[str, str, "str | None"]
"""``(os, architecture, variant)``, e.g. ``("linux", "arm64", "v8")``."""
Media = Literal["oci", "docker"]
Compression = Literal["gzip", "zstd"]

MEDIA_TYPES: dict[str, dict[str, str]] = {
    "oci": {
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "index": "application/vnd.oci.image.index.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "layer": "application/vnd.oci.image.layer.v1.tar",
        "layer+gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
        "layer+zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    },
    "docker": {
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "index": "application/vnd.docker.distribution.manifest.list.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "layer": "application/vnd.docker.image.rootfs.diff.tar",
        "layer+gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    },
}

_BLOCK = 64 * 1024
_COPY_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class LayerSpec:
    """What one layer should contain.

    ``size`` is the total bytes of file content (the tar adds headers and padding).
    ``compression`` is ``"gzip"`` (level ``level``), ``"zstd"`` (OCI only; needs the
    ``zstandard`` package) or ``None`` for an uncompressed layer media type. ``seed``
    fixes the content; by default it derives from the image seed, platform and layer
    index, so layers differ between positions and platforms but not between runs.
    """

    size: int = 64 * 1024
    compressible: float = 0.5
    compression: Compression | None = "gzip"
    files: int = 1
    seed: int | None = None
    level: int = 1

    def __post_init__(self) -> None:
        if self.size < 0 or self.files < 1:
            raise ValueError("LayerSpec needs size >= 0 and files >= 1")
        if not 0.0 <= self.compressible <= 1.0:
            raise ValueError("LayerSpec.compressible must be within [0, 1]")
        if self.compression not in ("gzip", "zstd", None):
            raise ValueError(f"unknown compression {self.compression!r}")


@dataclass(frozen=True)
class BuiltLayer:
    """A layer blob as written into the layout."""

    digest: str
    """Digest of the blob (compressed bytes)."""
    size: int
    """Blob size in bytes."""
    diff_id: str
    """Digest of the uncompressed tar (equals ``digest`` when uncompressed)."""
    uncompressed_size: int
    media_type: str
    compression: Compression | None


@dataclass(frozen=True)
class BuiltImage:
    """One single-platform image written into an OCI layout."""

    layout_dir: Path
    tag: str | None
    """The ``org.opencontainers.image.ref.name`` in ``index.json``; ``None`` for the
    per-platform children of an index, which are reachable only through it."""
    manifest_digest: str
    manifest_media_type: str
    manifest_size: int
    config_digest: str
    config_media_type: str
    config_size: int
    layers: tuple[BuiltLayer, ...]
    platform: Platform

    @property
    def layer_digests(self) -> list[str]:
        """Blob digests of the layers, in manifest order."""
        return [layer.digest for layer in self.layers]

    @property
    def layer_sizes(self) -> list[int]:
        """Blob sizes of the layers, in manifest order."""
        return [layer.size for layer in self.layers]

    @property
    def diff_ids(self) -> list[str]:
        """Uncompressed digests of the layers (the config's ``rootfs.diff_ids``)."""
        return [layer.diff_id for layer in self.layers]

    @property
    def blob_digests(self) -> list[str]:
        """Config and layer digests: every blob the manifest references."""
        return [self.config_digest, *self.layer_digests]

    @property
    def total_size(self) -> int:
        """Manifest, config and layer bytes together."""
        return self.manifest_size + self.config_size + sum(self.layer_sizes)

    @property
    def oci_ref(self) -> str:
        """``oci:LAYOUT:TAG`` (or ``oci:LAYOUT@DIGEST`` when untagged) for skopeo."""
        if self.tag is None:
            return f"oci:{self.layout_dir}@{self.manifest_digest}"
        return f"oci:{self.layout_dir}:{self.tag}"

    def blob_path(self, digest: str) -> Path:
        """Path of a blob of this layout."""
        return _blob_path(self.layout_dir, digest)

    def manifest(self) -> dict[str, Any]:
        """The manifest, parsed."""
        return json.loads(self.blob_path(self.manifest_digest).read_bytes())  # type: ignore[no-any-return]

    def config(self) -> dict[str, Any]:
        """The image config, parsed."""
        return json.loads(self.blob_path(self.config_digest).read_bytes())  # type: ignore[no-any-return]

    def to_dir(self, directory: Path) -> str:
        """Export as a skopeo ``dir:`` image (blobs hard-linked where possible).

        skopeo's ``oci:`` transport skips ``index.json`` entries with Docker media
        types, so ``dir:`` is how skopeo reads a ``media="docker"`` image unchanged.
        Returns the ``dir:PATH`` reference.
        """
        directory = _start_dir_export(directory)
        _link_or_copy(
            self.blob_path(self.manifest_digest), directory / "manifest.json", replace=True
        )
        for digest in self.blob_digests:
            _link_or_copy(self.blob_path(digest), directory / digest.partition(":")[2])
        return f"dir:{directory}"


@dataclass(frozen=True)
class BuiltIndex:
    """A multi-platform image: an OCI index or Docker manifest list and its images."""

    layout_dir: Path
    tag: str
    digest: str
    media_type: str
    size: int
    images: tuple[BuiltImage, ...] = field(default_factory=tuple)

    @property
    def manifest_digest(self) -> str:
        """Alias of ``digest``, so code can treat an index like an image."""
        return self.digest

    @property
    def oci_ref(self) -> str:
        """``oci:LAYOUT:TAG`` for skopeo."""
        return f"oci:{self.layout_dir}:{self.tag}"

    def image_for(self, os_name: str, architecture: str, variant: str | None = None) -> BuiltImage:
        """The child image of one platform."""
        for image in self.images:
            if image.platform == (os_name, architecture, variant):
                return image
        raise KeyError((os_name, architecture, variant))

    def index(self) -> dict[str, Any]:
        """The index / manifest list, parsed."""
        return json.loads(_blob_path(self.layout_dir, self.digest).read_bytes())  # type: ignore[no-any-return]

    def to_dir(self, directory: Path) -> str:
        """Export as a skopeo ``dir:`` image list (read it with ``skopeo copy --all``).

        The list is ``manifest.json``; each instance is ``HEX.manifest.json``, as
        containers/image's dir transport stores them. Returns ``dir:PATH``.
        """
        directory = _start_dir_export(directory)
        _link_or_copy(
            _blob_path(self.layout_dir, self.digest), directory / "manifest.json", replace=True
        )
        for image in self.images:
            hexdigest = image.manifest_digest.partition(":")[2]
            _link_or_copy(
                image.blob_path(image.manifest_digest), directory / f"{hexdigest}.manifest.json"
            )
            for digest in image.blob_digests:
                _link_or_copy(image.blob_path(digest), directory / digest.partition(":")[2])
        return f"dir:{directory}"


def build_image(
    layout_dir: Path,
    tag: str | None = "latest",
    *,
    layers: Sequence[LayerSpec] | None = None,
    media: Media = "oci",
    labels: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    cmd: Sequence[str] | None = ("/bin/sh",),
    created: str = DEFAULT_CREATED,
    platform: Platform = ("linux", "amd64", None),
    history: bool = True,
    annotations: dict[str, str] | None = None,
    seed: int = 0,
) -> BuiltImage:
    """Write one image into the OCI layout at ``layout_dir`` and tag it ``tag``.

    ``layers`` defaults to a single 64 KiB gzip layer. ``env`` is merged over a default
    ``PATH``. ``annotations`` go on the manifest (OCI only). ``seed`` varies the content
    of every layer without a per-layer seed. ``tag=None`` writes the blobs without
    touching ``index.json``. Re-tagging replaces the previous entry of that tag.
    """
    layout_dir = Path(layout_dir)
    _init_layout(layout_dir)
    types = MEDIA_TYPES[_check_media(media)]
    specs = list(layers) if layers is not None else [LayerSpec()]
    mtime = int(_parse_created(created).timestamp())

    built_layers: list[BuiltLayer] = []
    for index, spec in enumerate(specs):
        layer_seed = spec.seed if spec.seed is not None else _derive_seed(seed, platform, index)
        built_layers.append(_write_layer(layout_dir, spec, index, layer_seed, mtime, types))

    os_name, architecture, variant = platform
    image_config: dict[str, Any] = {
        "Env": [f"{k}={v}" for k, v in _merged_env(env).items()],
        "WorkingDir": "/",
    }
    if cmd is not None:
        image_config["Cmd"] = list(cmd)
    if labels:
        image_config["Labels"] = dict(labels)
    config: dict[str, Any] = {"created": created, "architecture": architecture}
    if variant:
        config["variant"] = variant
    config["os"] = os_name
    config["config"] = image_config
    config["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in built_layers]}
    if history:
        config["history"] = [
            {
                "created": created,
                "created_by": (
                    f"ocikit-testbed layer {i}: {spec.size} bytes in {spec.files} file(s)"
                ),
                "comment": "ocikit testbed",
            }
            for i, spec in enumerate(specs)
        ]
    config_digest, config_size = _write_json_blob(layout_dir, config)

    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": types["manifest"],
        "config": {"mediaType": types["config"], "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
            for layer in built_layers
        ],
    }
    if annotations:
        if media != "oci":
            raise ValueError("Docker schema2 manifests have no annotations")
        manifest["annotations"] = dict(annotations)
    manifest_digest, manifest_size = _write_json_blob(layout_dir, manifest)

    if tag is not None:
        _tag(layout_dir, tag, types["manifest"], manifest_digest, manifest_size)
    return BuiltImage(
        layout_dir=layout_dir,
        tag=tag,
        manifest_digest=manifest_digest,
        manifest_media_type=types["manifest"],
        manifest_size=manifest_size,
        config_digest=config_digest,
        config_media_type=types["config"],
        config_size=config_size,
        layers=tuple(built_layers),
        platform=platform,
    )


def build_index(
    layout_dir: Path,
    tag: str = "latest",
    platforms: Sequence[Platform] = DEFAULT_PLATFORMS,
    *,
    media: Media = "oci",
    layers: Sequence[LayerSpec] | None = None,
    labels: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    created: str = DEFAULT_CREATED,
    annotations: dict[str, str] | None = None,
    seed: int = 0,
) -> BuiltIndex:
    """Write one image per platform and an index over them, tagged ``tag``.

    ``media="oci"`` writes an OCI image index, ``media="docker"`` a Docker manifest list.
    The per-platform images are not tagged. ``annotations`` go on the index (OCI only).
    """
    layout_dir = Path(layout_dir)
    types = MEDIA_TYPES[_check_media(media)]
    images = tuple(
        build_image(
            layout_dir,
            None,
            layers=layers,
            media=media,
            labels=labels,
            env=env,
            created=created,
            platform=platform,
            seed=seed,
        )
        for platform in platforms
    )
    entries = []
    for image in images:
        os_name, architecture, variant = image.platform
        plat: dict[str, str] = {"architecture": architecture, "os": os_name}
        if variant:
            plat["variant"] = variant
        entries.append(
            {
                "mediaType": image.manifest_media_type,
                "digest": image.manifest_digest,
                "size": image.manifest_size,
                "platform": plat,
            }
        )
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": types["index"], "manifests": entries}
    if annotations:
        if media != "oci":
            raise ValueError("Docker manifest lists have no annotations")
        index["annotations"] = dict(annotations)
    digest, size = _write_json_blob(layout_dir, index)
    _tag(layout_dir, tag, types["index"], digest, size)
    return BuiltIndex(
        layout_dir=layout_dir,
        tag=tag,
        digest=digest,
        media_type=types["index"],
        size=size,
        images=images,
    )


# -- layout plumbing -------------------------------------------------------------------


def _check_media(media: str) -> str:
    if media not in MEDIA_TYPES:
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}")
    return media


def _init_layout(layout_dir: Path) -> None:
    (layout_dir / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    if not (layout_dir / "oci-layout").exists():
        _atomic_write(layout_dir / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    if not (layout_dir / "index.json").exists():
        _write_index_json(layout_dir, [])


def _blob_path(layout_dir: Path, digest: str) -> Path:
    algorithm, _sep, hexdigest = digest.partition(":")
    return Path(layout_dir) / "blobs" / algorithm / hexdigest


def _write_json_blob(layout_dir: Path, document: dict[str, Any]) -> tuple[str, int]:
    data = json.dumps(document, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = _blob_path(layout_dir, digest)
    if not path.exists():
        _atomic_write(path, data)
    return digest, len(data)


def _tag(layout_dir: Path, tag: str, media_type: str, digest: str, size: int) -> None:
    index = json.loads((layout_dir / "index.json").read_bytes())
    manifests = [
        m for m in index.get("manifests", []) if m.get("annotations", {}).get(REF_NAME) != tag
    ]
    manifests.append(
        {"mediaType": media_type, "digest": digest, "size": size, "annotations": {REF_NAME: tag}}
    )
    _write_index_json(layout_dir, manifests)


def _write_index_json(layout_dir: Path, manifests: list[dict[str, Any]]) -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPES["oci"]["index"],
        "manifests": manifests,
    }
    _atomic_write(layout_dir / "index.json", json.dumps(index, indent=2).encode() + b"\n")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _start_dir_export(directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_write(directory / "version", b"Directory Transport Version: 1.1\n")
    return directory


def _link_or_copy(source: Path, target: Path, *, replace: bool = False) -> None:
    if target.exists():
        if not replace:
            return  # content-addressed: an existing file already has these bytes
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        # Another filesystem (or no hard links): a streaming copy keeps memory flat.
        shutil.copyfile(source, target)


# -- layers ----------------------------------------------------------------------------


def _derive_seed(seed: int, platform: Platform, index: int) -> int:
    # crc32, not hash(): str hashes are salted per process and would break determinism.
    key = f"{seed}/{platform[0]}/{platform[1]}/{platform[2] or ''}/{index}"
    return zlib.crc32(key.encode())


def _write_layer(
    layout_dir: Path,
    spec: LayerSpec,
    index: int,
    seed: int,
    mtime: int,
    types: dict[str, str],
) -> BuiltLayer:
    media_key = "layer" if spec.compression is None else f"layer+{spec.compression}"
    if media_key not in types:
        raise ValueError(f"{spec.compression} layers have no Docker schema2 media type")

    blobs = layout_dir / "blobs" / "sha256"
    fd, tmp = tempfile.mkstemp(dir=blobs, prefix=".tmp-layer-")
    try:
        with os.fdopen(fd, "wb") as out:
            compressed = _HashingWriter(out)
            compressor = _open_compressor(spec, compressed)
            uncompressed = _HashingWriter(compressor)
            _write_tar(uncompressed, spec, index, seed, mtime)
            compressor.close()
            out.flush()
            os.fsync(out.fileno())
        digest = "sha256:" + compressed.sha256.hexdigest()
        final = _blob_path(layout_dir, digest)
        if final.exists():
            os.unlink(tmp)  # same content built before: keep the existing blob
        else:
            os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return BuiltLayer(
        digest=digest,
        size=compressed.count,
        diff_id="sha256:" + uncompressed.sha256.hexdigest(),
        uncompressed_size=uncompressed.count,
        media_type=types[media_key],
        compression=spec.compression,
    )


def _open_compressor(spec: LayerSpec, sink: _HashingWriter) -> _Compressor:
    if spec.compression == "gzip":
        # mtime=0 and no file name keep the gzip header, hence the digest, reproducible.
        return gzip.GzipFile(
            filename="", mode="wb", compresslevel=spec.level, fileobj=sink, mtime=0
        )
    if spec.compression == "zstd":
        try:
            import zstandard
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("zstd layers need the 'zstandard' package") from exc
        writer = zstandard.ZstdCompressor(level=spec.level).stream_writer(
            cast(IO[bytes], sink), closefd=False
        )
        return cast(_Compressor, writer)
    return _Passthrough(sink)


def _write_tar(sink: _HashingWriter, spec: LayerSpec, index: int, seed: int, mtime: int) -> None:
    # TarFile in "w" mode only writes and tells, never seeks, so the tar flows straight
    # into the compressor; a 1 MiB copy buffer keeps the per-call overhead negligible.
    with tarfile.TarFile(
        fileobj=cast(IO[bytes], sink),
        mode="w",
        format=tarfile.PAX_FORMAT,
        copybufsize=_COPY_BUFFER,
    ) as tar:
        directory = f"ocikit/layer{index}"
        for name in ("ocikit", directory):
            tar.addfile(_tarinfo(name, tarfile.DIRTYPE, 0, mtime))
        per_file, remainder = divmod(spec.size, spec.files)
        for j in range(spec.files):
            size = per_file + (remainder if j == spec.files - 1 else 0)
            content = _ContentReader(size, spec.compressible, seed * 1000003 + j)
            info = _tarinfo(f"{directory}/file{j}.bin", tarfile.REGTYPE, size, mtime)
            tar.addfile(info, cast(IO[bytes], content))


def _tarinfo(name: str, kind: bytes, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mtime = mtime
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


class _ContentReader:
    """Deterministic file content: per 64 KiB block, a repeated pattern then random bytes."""

    def __init__(self, size: int, compressible: float, seed: int) -> None:
        self._remaining = size
        self._random = random.Random(seed)
        repeated = int(_BLOCK * compressible)
        pattern = self._random.randbytes(64)
        self._repeated = (pattern * (repeated // len(pattern) + 1))[:repeated]
        self._random_len = _BLOCK - repeated
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self._remaining + len(self._buffer)
        parts = [self._buffer]
        have = len(self._buffer)
        # Collect whole blocks and join once: repeated bytes-concatenation would copy
        # the growing buffer for every block.
        while have < n and self._remaining > 0:
            block = (self._repeated + self._random.randbytes(self._random_len))[: self._remaining]
            self._remaining -= len(block)
            parts.append(block)
            have += len(block)
        data = b"".join(parts)
        self._buffer = data[n:]
        return data[:n]


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Compressor(_Sink, Protocol):
    def close(self) -> None: ...


class _HashingWriter:
    """Counts and SHA-256-hashes what passes through on its way to ``sink``."""

    def __init__(self, sink: _Sink) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes, /) -> int:
        self.sha256.update(data)
        self.count += len(data)
        self._sink.write(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        pass  # the owner flushes the real file once, at the end


class _Passthrough:
    """The no-compression "compressor"."""

    def __init__(self, sink: _HashingWriter) -> None:
        self._sink = sink

    def write(self, data: bytes, /) -> int:
        return self._sink.write(data)

    def close(self) -> None:
        pass


def _merged_env(env: dict[str, str] | None) -> dict[str, str]:
    merged = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    merged.update(env or {})
    return merged


def _parse_created(created: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
