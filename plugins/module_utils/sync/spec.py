# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What image_sync copies: its sources parsed into one list of sync entries, tag selection and destination names.

Pure: nothing here talks to a registry; the dir-source walk reads directory listings only, a layout or archive source
its index.json.

Sources (each parser returns a :class:`SyncSpec`: entries plus warnings)
    ``src_type: docker`` (:func:`parse_docker_source`), as ``skopeo sync --src docker``: a
    repository (every tag, listed by the engine) or one image ``repo:tag`` / ``repo@digest``;
    a reference with both a tag and a digest is refused, as by containers/image.

    ``src_type: dir`` (:func:`parse_dir_source`), as ``--src dir``: every directory under SOURCE
    holding a ``manifest.json`` is one image (:func:`find_dir_images`: skopeo's ``filepath.WalkDir``
    order, symlinked directories not followed, nothing below an image directory). What a killed
    ``dir:`` copy leaves beside an image (its work directory, which may hold a manifest already, or
    the old image it was swapping out) is no image and is passed over.

    ``src_type: yaml`` (:func:`parse_yaml_source`, :func:`load_yaml_source`), skopeo's YAML file:
    ``registry -> {images: {repo: [tags or digests]}, images-by-tag-regex: {repo: regex},
    images-by-semver: {repo: constraint}, credentials: {username, password}, tls-verify, cert-dir}``.
    ``[]`` (or null) lists every tag. A reference is a digest when it parses as one, else a tag
    (skopeo's order). Regexes are Go RE2 (:mod:`.re2`), searched anywhere in the tag as skopeo's
    ``MatchString``; constraints are Masterminds/semver v3 (:mod:`.semver`), tags that are no
    version are skipped. Unknown keys are accepted, as by skopeo's non-strict yaml.v3, and listed in
    the warnings; a registry without images is a warning (skopeo warns and skips it). Where skopeo
    logs and skips a broken repository name, tag or regex, this module refuses the whole source
    and names the place (``images["quay.io"].images-by-semver.alpine: invalid semver constraint ...``):
    a typo must not silently shrink a mirror. Entries keep the file's order (Go iterates maps
    randomly). From a file, scalars are read as written (``1.10`` stays a tag ``1.10``, as yaml.v3
    decodes into strings); in the ``images`` option Ansible has already read them as YAML 1.1, so a
    tag or password that arrives as a number is refused with a request to quote it.

    ``src_type: oci`` and ``oci-archive`` (:func:`parse_layout_source`), beyond skopeo (the far side of
    an air-gap transfer): every image named in the index.json of one OCI layout directory or archive
    (``org.opencontainers.image.ref.name``), read in place. A ref name is split as a docker
    reference is written, not normalised (:func:`split_ref_name`: ``team/app:1.4``,
    ``127.0.0.1:5000/team/app:1.4``, ``app@sha256:...``); one written as a tag alone (``latest``, as
    ``skopeo copy ... oci:PATH:TAG`` writes it) belongs to a repository named after the layout or
    archive (its base name, as skopeo names a dir source that is itself an image). Unnamed entries
    and names that are no image name are skipped with a warning. One entry per repository; the
    filters apply to the tags (:func:`select_layout_references`; an image named by digest is
    synced only without filters).

    The mapping form (:func:`parse_mapping`), beyond skopeo: a list of ``{src, dest, tags,
    tag_regex, exclude_regex, semver, platforms}``. ``src`` is a repository, ``repo:tag`` or
    ``repo@digest``; ``tags`` lists exact tags or digests; ``tag_regex`` (include), ``exclude_regex``
    and ``semver`` filter the repository's tag list and must all hold; ``tags`` and the filters
    exclude each other. ``dest`` is the destination repository name *relative to the sync's
    destination*, replacing skopeo's naming (so names without the source host are possible, which
    skopeo cannot do: containers/skopeo#1845, #1998). Unknown keys are errors (it is our format).

Destination names (:func:`destination_for`), skopeo's rules (``cmd/skopeo/sync.go``) exactly
    suffix = the source reference (``docker.io/library/busybox:1.36`` or ``...@sha256:...``), or for
    a dir source the image directory below SOURCE (SOURCE's own base name when SOURCE is the image);
    without ``scoped`` only its last path element is kept (``busybox:1.36``); the result is
    ``path.Join(dest, suffix) + append_suffix``. Quirks kept and documented: ``scoped`` keeps the
    registry host (``mirror/docker.io/library/busybox:1.36``) and there is no mode keeping the path
    without it (use the mapping's ``dest``); ``append_suffix`` is appended to the whole string, so
    it extends the tag, and after a digest it makes an invalid reference: for a docker destination
    that is refused here with a clear message (skopeo fails on it later). ``path.Join`` is Go's
    (``..`` and doubled slashes are cleaned). One deliberate difference: skopeo trims the *given*
    SOURCE text from the *resolved* image path, so a relative or symlinked SOURCE puts the whole
    absolute path into a scoped name; here the walk starts from SOURCE as given, so the suffix is
    always the path below it. ``oci`` and ``oci-archive`` destinations (beyond skopeo) are one
    layout or archive holding every image, the suffix being the ``org.opencontainers.image.ref.name``
    (``oci:/srv/mirror:busybox:1.36``). For a layout or archive source the suffix is the ref name as
    written (the base name prefixed to a tag alone), so the same rules apply and a round trip keeps
    names: registry -> layout (``scoped``) -> registry (``scoped``) gives the names a scoped sync
    between the registries gives, and a bundle holding ``team/app:1.4`` (a mapping's ``dest``) lands
    at ``DEST/team/app:1.4`` with ``scoped``, ``DEST/app:1.4`` without.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import stat
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ConfigError,
    InvalidInputError,
    InvalidReferenceError,
    LayoutError,
    NoMatchingPlatformError,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import parse_platform
from ansible_collections.ocikit.images.plugins.module_utils.reference import (
    DockerReference,
    parse_normalized_named,
    validate_repository_path,
    validate_tag,
)
from ansible_collections.ocikit.images.plugins.module_utils.sync.re2 import RE2Pattern, compile_re2
from ansible_collections.ocikit.images.plugins.module_utils.sync.semver import Constraint, parse_constraint, try_parse_version
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.destination import OLD_INFIX as DIR_OLD_INFIX
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.destination import WORK_INFIX as DIR_WORK_INFIX
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import REF_NAME_ANNOTATION, Layout
from ansible_collections.ocikit.images.plugins.module_utils.yamlutil import kind_of, load_yaml, yaml_bool

#: Bytes of a sync YAML file; real ones are a few kilobytes.
MAX_SOURCE_FILE_SIZE = 4 * 1024 * 1024
#: Directory entries the dir-source walk may look at, and how deep it may go.
MAX_WALK_ENTRIES = 200000
MAX_WALK_DEPTH = 64
#: Images one dir source may hold.
MAX_DIR_IMAGES = 20000

SRC_TYPES = ('docker', 'dir', 'yaml', 'oci', 'oci-archive')
#: Sources holding many named images in one OCI layout directory or one OCI archive.
LAYOUT_SOURCE_TYPES = ('oci', 'oci-archive')
DEST_TYPES = ('docker', 'dir', 'oci', 'oci-archive')

_REGISTRY_KEYS = ('images', 'images-by-tag-regex', 'images-by-semver', 'credentials', 'tls-verify', 'cert-dir')
# containers/image DockerAuthConfig has no yaml tags: yaml.v3 matches its lowercased field names.
_CREDENTIAL_KEYS = ('username', 'password', 'identitytoken')
_MAPPING_KEYS = ('src', 'dest', 'tags', 'tag_regex', 'exclude_regex', 'semver', 'platforms')
_PLAIN_KEY_RE = re.compile(r'[A-Za-z0-9._/-]+')


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Per-registry credentials from skopeo's YAML (``credentials``); ``identity_token`` is ``identitytoken``."""

    username: str = ''
    password: str = dataclasses.field(default='', repr=False)
    identity_token: str = dataclasses.field(default='', repr=False)


@dataclasses.dataclass(frozen=True)
class RegistryOptions:
    """Per-registry settings of skopeo's YAML. None: not set, the module's own option applies.

    skopeo sets the certificate directory from ``cert-dir`` even when it is absent (an empty
    path: the default lookup); ``tls-verify`` overrides the command line only when present.
    """

    credentials: Credentials | None = None
    tls_verify: bool | None = None
    cert_dir: str | None = None


@dataclasses.dataclass(frozen=True)
class SyncEntry:
    """One source repository (or one dir image) and what to take from it.

    ``repository``: the source repository, name only (docker sources); ``source_dir`` and
    ``dir_base``: the image directory and the SOURCE it was found under (dir sources).
    ``layout`` (absolute), ``layout_type`` (``oci`` or ``oci-archive``), ``layout_repository`` (the
    repository part of the ref names, as written) and ``layout_names`` (``(tag or digest, ref name)``
    in index order): one repository of an OCI layout or archive source; the engine selects among
    its tags with :func:`select_layout_references`.
    ``references``: exact tags or digests (``sha256:...``) to copy, in the order given; when empty,
    :attr:`lists_tags` is true and the engine lists the repository's tags and applies
    :func:`select_tags` (``include``, ``exclude``, ``semver``; none: every tag).
    ``destination``: the destination name relative to the sync's destination (mapping form), or
    None for skopeo's naming. ``platforms``: ``os/arch[/variant]`` to copy (empty: the module's choice).
    ``origin``: where the entry was written, for messages.
    """

    origin: str
    repository: DockerReference | None = None
    source_dir: str | None = None
    dir_base: str | None = None
    references: tuple[str, ...] = ()
    include: RE2Pattern | None = None
    exclude: RE2Pattern | None = None
    semver: Constraint | None = None
    registry: RegistryOptions | None = None
    platforms: tuple[str, ...] = ()
    destination: str | None = None
    layout: str | None = None
    layout_type: str | None = None
    layout_repository: str | None = None
    layout_names: tuple[tuple[str, str], ...] = ()

    @property
    def layout_references(self) -> tuple[str, ...]:
        """The tags and digests a layout entry's repository holds, in index order."""
        return tuple(reference for reference, dummy in self.layout_names)

    @property
    def lists_tags(self) -> bool:
        """True when the engine must list the repository's tags (no exact references given)."""
        return self.repository is not None and not self.references


@dataclasses.dataclass(frozen=True)
class SyncSpec:
    """The parsed source: entries in order, and warnings (unknown YAML keys, registries without images)."""

    entries: tuple[SyncEntry, ...]
    warnings: tuple[str, ...] = ()


# -- small helpers ---------------------------------------------------------------------------------

def _key(name: t.Any) -> str:
    """``name`` as a path element of a location: bare when plain, else ``["quoted"]``."""
    if isinstance(name, str) and _PLAIN_KEY_RE.fullmatch(name):
        return '.' + name
    return '[%s]' % quote(str(name))


def _text(value: t.Any, where: str, what: str = 'a string') -> str:
    """``value`` when it is a string; a number gets a hint, since YAML 1.1 changed it (``1.10`` became 1.1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise InvalidInputError('%s: %s must be %s, not the number %s; quote it (YAML reads 1.10 as 1.1 and 010 as 8)'
                                % (where, quote(str(value)), what, value))
    raise InvalidInputError('%s: must be %s, not %s' % (where, what, kind_of(value)))


def _fail(where: str, exc: InvalidInputError) -> InvalidInputError:
    return InvalidInputError('%s: %s' % (where, exc.message))


def _repository(text: str, where: str) -> DockerReference:
    """A repository name (no tag, no digest), normalised as skopeo's parseRepositoryReference."""
    try:
        ref = parse_normalized_named(text)
    except InvalidReferenceError as exc:
        raise _fail(where, exc) from None
    if not ref.is_name_only():
        raise InvalidInputError('%s: %s names an image, not a repository (remove the tag or digest)' % (where, quote(text)))
    return ref


def _reference(text: t.Any, where: str) -> str:
    """A tag or digest of skopeo's ``images`` list: a digest when it parses as one, else a tag."""
    value = _text(text, where)
    if Digest.is_valid(value):
        return value
    if re.match(r'(sha256|sha384|sha512):', value):
        try:
            Digest(value)
        except InvalidReferenceError as exc:
            raise _fail(where, exc) from None
    try:
        return validate_tag(value)
    except InvalidReferenceError as exc:
        raise _fail(where, exc) from None


def _regex(value: t.Any, where: str) -> RE2Pattern:
    text = _text(value, where, 'a regular expression')
    try:
        return compile_re2(text)
    except InvalidInputError as exc:
        raise _fail(where, exc) from None


def _constraint(value: t.Any, where: str) -> Constraint:
    text = _text(value, where, 'a semver constraint')
    try:
        return parse_constraint(text)
    except InvalidInputError as exc:
        raise _fail(where, exc) from None


def _platforms(value: t.Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise InvalidInputError('%s: must be a list of os/arch[/variant], not %s' % (where, kind_of(value)))
    result: list[str] = []
    for index, item in enumerate(value):
        item_where = '%s[%d]' % (where, index)
        try:
            platform = str(parse_platform(_text(item, item_where)))
        except NoMatchingPlatformError:
            raise InvalidInputError('%s: invalid platform %s: expected os/arch or os/arch/variant' % (item_where, quote(item))) from None
        if platform not in result:
            result.append(platform)
    return tuple(result)


def tag_filter(tag_regex: t.Any = None, exclude_regex: t.Any = None, semver: t.Any = None, where: str = '',
               origin: str = 'filters') -> SyncEntry:
    """An entry holding only the tag filters ``tag_regex``, ``exclude_regex`` and ``semver`` (None: not set), for :func:`select_tags`.

    Every source's entries start from it (``dataclasses.replace``), and image_tags uses it alone: the
    same RE2 and semver engines and the same messages, naming the option at fault (``tag_regex: ...``,
    or ``WHERE.tag_regex: ...`` with ``where``).
    """
    prefix = where + '.' if where else ''
    return SyncEntry(origin=origin,
                     include=_regex(tag_regex, prefix + 'tag_regex') if tag_regex is not None else None,
                     exclude=_regex(exclude_regex, prefix + 'exclude_regex') if exclude_regex is not None else None,
                     semver=_constraint(semver, prefix + 'semver') if semver is not None else None)


# -- src_type: docker --------------------------------------------------------------------------------

def _split_image(text: str, where: str) -> tuple[DockerReference, tuple[str, ...]]:
    """``(repository, references)`` of a repository or one image (``repo:tag``, ``repo@digest``)."""
    try:
        ref = parse_normalized_named(text)
    except InvalidReferenceError as exc:
        raise _fail(where, exc) from None
    if ref.tag is not None and ref.digest is not None:
        raise InvalidInputError('%s: %s has both a tag and a digest; containers/image does not support that for docker references, '
                                'give one of them' % (where, quote(text)))
    references = (ref.tag,) if ref.tag is not None else (str(ref.digest),) if ref.digest is not None else ()
    return ref.without_tag_or_digest(), references


def parse_docker_source(src: str, tag_regex: str | None = None, exclude_regex: str | None = None, semver: str | None = None,
                        platforms: t.Sequence[str] | None = None, where: str = 'src') -> SyncSpec:
    """``src_type: docker``: a repository (all tags, optionally filtered) or one image; filters with one image are refused."""
    repository, references = _split_image(_text(src, where), where)
    entry = dataclasses.replace(tag_filter(tag_regex, exclude_regex, semver), origin=where, repository=repository, references=references,
                                platforms=_platforms(platforms, 'platforms'))
    if references and (entry.include or entry.exclude or entry.semver):
        raise InvalidInputError('%s: %s names one image; tag_regex, exclude_regex and semver filter the tags of a repository'
                                % (where, quote(src)))
    return SyncSpec(entries=(entry,))


# -- src_type: dir -----------------------------------------------------------------------------------

def find_dir_images(base: str, max_images: int = MAX_DIR_IMAGES, max_entries: int = MAX_WALK_ENTRIES,
                    max_depth: int = MAX_WALK_DEPTH) -> list[str]:
    """The image directories under ``base`` (paths joined onto ``base`` as given), in skopeo's walk order.

    As skopeo's ``filepath.WalkDir``: entries in name order, directories entered (symbolic links to
    directories are not followed), and the first non-directory named ``manifest.json`` makes its
    directory an image, after which the rest of that directory is skipped (subdirectories sorting
    before ``manifest.json`` have been walked already, as in skopeo). Unlike skopeo, hidden
    directories a killed ``dir:`` copy left (:func:`is_dir_copy_leftover`) are not entered: they are
    no image, and a sync would otherwise copy a half-written one. ``base`` itself may be an
    image; unlike skopeo (whose WalkDir does not enter a symlinked root), a symlink as ``base`` is
    followed. Bounded by ``max_entries`` entries, ``max_depth`` levels and ``max_images`` images
    (LayoutError when exceeded); a directory that cannot be read is a LayoutError naming it.
    """
    found: list[str] = []
    seen = [0]

    def walk(directory: str, depth: int) -> None:
        if depth > max_depth:
            raise LayoutError('dir source %s: %s is nested more than %d levels deep' % (quote(base), quote(directory), max_depth))
        try:
            with os.scandir(directory) as listing:
                names = sorted((item.name, item.is_dir(follow_symlinks=False)) for item in listing)
        except OSError as exc:
            raise LayoutError('dir source %s: directory %s cannot be read: %s'
                              % (quote(base), quote(directory), exc.strerror or type(exc).__name__)) from None
        seen[0] += len(names)
        if seen[0] > max_entries:
            raise LayoutError('dir source %s holds more than %d files and directories' % (quote(base), max_entries))
        for name, is_dir in names:
            path = os.path.join(directory, name)
            if is_dir and not is_dir_copy_leftover(name):
                walk(path, depth + 1)
            elif name == 'manifest.json':
                found.append(directory)
                if len(found) > max_images:
                    raise LayoutError('dir source %s holds more than %d images' % (quote(base), max_images))
                return

    walk(base, 0)
    return found


def is_dir_copy_leftover(name: str) -> bool:
    """Whether ``name`` is what a ``dir:`` copy keeps beside the image it writes (``.<name>.ocikit-tmp-<random>``, the work
    directory swapped in at commit; ``.<name>.ocikit-old-<random>``, the old image while it is swapped out): left behind by a
    killed copy until a later write to that image sweeps it (transports/dir/destination.py)."""
    return name.startswith('.') and (DIR_WORK_INFIX in name or DIR_OLD_INFIX in name)


def parse_dir_source(src: str, platforms: t.Sequence[str] | None = None, where: str = 'src') -> SyncSpec:
    """``src_type: dir``: one entry per image directory under ``src`` (a tree a previous sync wrote)."""
    base = _text(src, where)
    try:
        mode = os.stat(base).st_mode
    except OSError as exc:
        raise InvalidInputError('%s: invalid source directory %s: %s' % (where, quote(base), exc.strerror or type(exc).__name__)) from None
    if not stat.S_ISDIR(mode):
        raise InvalidInputError('%s: invalid source directory %s: not a directory' % (where, quote(base)))
    chosen = _platforms(platforms, 'platforms')
    images = find_dir_images(base)
    if not images:
        raise InvalidInputError('%s: no images to sync found in %s (no directory with a manifest.json)' % (where, quote(base)))
    return SyncSpec(entries=tuple(SyncEntry(origin='%s %s' % (where, quote(path)), source_dir=path, dir_base=base, platforms=chosen)
                                  for path in images))


# -- src_type: oci and oci-archive -------------------------------------------------------------------

def split_ref_name(name: str) -> tuple[str | None, str]:
    """``(repository, tag or digest)`` of an ``org.opencontainers.image.ref.name``, as written (not normalised).

    The last path element carries the tag (``team/app:1.4`` -> ``team/app``, ``1.4``; a registry
    port before it is part of the repository) or the digest (``app@sha256:...``). A name without
    ``/``, ``:`` or ``@`` is a tag alone, as ``skopeo copy ... oci:PATH:TAG`` writes it: repository
    None. InvalidInputError for a name that is neither (a repository without a tag, a tag and a
    digest, an invalid tag or digest).
    """
    head, slash, last = name.rpartition('/')
    if '@' in last:
        repository, dummy, reference = last.partition('@')
        if ':' in repository:
            raise InvalidInputError('it has both a tag and a digest')
        try:
            Digest(reference)
        except InvalidReferenceError as exc:
            raise InvalidInputError(exc.message) from None
    elif ':' in last:
        repository, dummy, reference = last.partition(':')
        try:
            validate_tag(reference)
        except InvalidReferenceError as exc:
            raise InvalidInputError(exc.message) from None
    elif slash:
        raise InvalidInputError('it names a repository without a tag')
    else:
        try:
            return None, validate_tag(last)
        except InvalidReferenceError as exc:
            raise InvalidInputError(exc.message) from None
    if not repository:
        raise InvalidInputError('its repository name is empty')
    return head + slash + repository, reference


def _layout_index(path: str, src_type: str, read_index: t.Callable[[str, str], dict[str, t.Any]] | None) -> dict[str, t.Any]:
    """index.json of the layout directory or archive ``path`` (bounded and checked by the transport's own reader)."""
    if read_index is not None:
        return read_index(path, src_type)
    if src_type == 'oci':
        layout = Layout(path)
        layout.check_readable()
        return layout.read_index()
    # Imported here: only an archive source needs the tar reader.
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.archive import OCIArchive  # pylint: disable=import-outside-toplevel

    with OCIArchive(path) as archive:
        return archive.index


def parse_layout_source(src: str, src_type: str, tag_regex: str | None = None, exclude_regex: str | None = None,
                        semver: str | None = None, platforms: t.Sequence[str] | None = None, where: str = 'src',
                        read_index: t.Callable[[str, str], dict[str, t.Any]] | None = None) -> SyncSpec:
    """``src_type: oci`` (a layout directory) or ``oci-archive`` (an archive file): every named image of its index.json.

    Beyond skopeo, the second half of an air-gap round trip. Each ``org.opencontainers.image.ref.name``
    is split by :func:`split_ref_name`; the names are grouped into one entry per repository, in the
    order they first appear, and the filters apply to their tags (a digest-named image is synced only
    without filters). A tag alone (``latest``) belongs to a repository named after the layout or
    archive (its base name, as skopeo names a dir source). Entries without a ref name, and names that
    are no image name, are skipped with a warning. The archive is only indexed here (read in place).
    ``read_index(path, src_type)`` gives index.json as the sync reads it for its copies
    (sync.sources.SourceBundles.index: the archive it keeps open, the layout's snapshot), so that the
    bundle is read once in all and the names selected are those the copies find.
    """
    path = _text(src, where)
    if src_type not in LAYOUT_SOURCE_TYPES:
        raise InvalidInputError('invalid src_type %s for a layout source: expected oci or oci-archive' % quote(str(src_type)))
    if ':' in path:
        raise InvalidInputError('%s: the %s path %s contains ":", which would end the path' % (where, src_type, quote(path)))
    absolute = os.path.abspath(path)
    what = 'OCI layout' if src_type == 'oci' else 'OCI archive'
    if not os.path.exists(absolute):
        raise InvalidInputError('%s: %s %s does not exist' % (where, what, quote(path)))
    index = _layout_index(absolute, src_type, read_index)
    selection = tag_filter(tag_regex, exclude_regex, semver)
    chosen = _platforms(platforms, 'platforms')
    base = _go_base(absolute)
    groups: dict[str, list[tuple[str, str]]] = {}
    unnamed: list[str] = []
    warnings: list[str] = []
    for position, entry in enumerate(index['manifests']):
        annotations = entry.get('annotations')
        name = annotations.get(REF_NAME_ANNOTATION) if isinstance(annotations, dict) else None
        if not isinstance(name, str) or not name:
            unnamed.append(str(entry.get('digest') or 'manifests[%d]' % position))
            continue
        try:
            repository, reference = split_ref_name(name)
        except InvalidInputError as exc:
            warnings.append('%s: the image named %s in %s %s is skipped: %s' % (where, quote(name), what, quote(path), exc.message))
            continue
        pairs = groups.setdefault(repository if repository is not None else base, [])
        if all(reference != known for known, dummy in pairs):
            pairs.append((reference, name))
    if unnamed:
        warnings.append('%s: %d image(s) of %s %s have no ref name (%s) and are skipped: %s'
                        % (where, len(unnamed), what, quote(path), REF_NAME_ANNOTATION, ', '.join(unnamed[:5]) + (', ...' if len(unnamed) > 5 else '')))
    if not groups:
        raise InvalidInputError('%s: no named images to sync in %s %s' % (where, what, quote(path)))
    entries = tuple(dataclasses.replace(selection, origin='%s %s: %s' % (where, quote(path), quote(repository)), layout=absolute,
                                        layout_type=src_type, layout_repository=repository, layout_names=tuple(pairs), platforms=chosen)
                    for repository, pairs in groups.items())
    return SyncSpec(entries=entries, warnings=tuple(warnings))


# -- src_type: yaml ----------------------------------------------------------------------------------

def _yaml_credentials(value: t.Any, where: str, warnings: list[str]) -> Credentials | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError('%s: must be a mapping with username and password, not %s' % (where, kind_of(value)))
    fields = {}
    for key, item in value.items():
        if key not in _CREDENTIAL_KEYS:
            warnings.append('%s: unknown key %s ignored (skopeo reads username, password and identitytoken)' % (where, quote(str(key))))
            continue
        fields[key] = '' if item is None else _text(item, where + _key(key))
    if not any(fields.values()):
        return None  # skopeo compares with the zero value: empty credentials are no credentials
    return Credentials(username=fields.get('username', ''), password=fields.get('password', ''),
                       identity_token=fields.get('identitytoken', ''))


def _yaml_registry(registry: t.Any, config: t.Any, root: str, warnings: list[str]) -> list[SyncEntry]:
    where = '%s[%s]' % (root, quote(str(registry)))
    if not isinstance(registry, str) or not registry:
        raise InvalidInputError('%s: a registry name must be a non-empty string' % where)
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InvalidInputError('%s: must be a mapping (images, images-by-tag-regex, images-by-semver, ...), not %s' % (where, kind_of(config)))
    unknown = [str(key) for key in config if key not in _REGISTRY_KEYS]
    if unknown:
        warnings.append('%s: unknown keys ignored, as skopeo does: %s' % (where, ', '.join(quote(k) for k in unknown)))
    tls_verify = None
    if config.get('tls-verify') is not None:
        tls_verify = yaml_bool(config['tls-verify'])
        if tls_verify is None:
            raise InvalidInputError('%s.tls-verify: must be true or false, not %s' % (where, quote(str(config['tls-verify']))))
    cert_dir = config.get('cert-dir')
    if cert_dir is not None:
        cert_dir = _text(cert_dir, where + '.cert-dir', 'a directory path') or None
    options = RegistryOptions(credentials=_yaml_credentials(config.get('credentials'), where + '.credentials', warnings),
                              tls_verify=tls_verify, cert_dir=cert_dir)
    sections = {}
    for key in ('images', 'images-by-tag-regex', 'images-by-semver'):
        section = config.get(key)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            raise InvalidInputError('%s.%s: must be a mapping of repositories, not %s' % (where, key, kind_of(section)))
        sections[key] = section
    if not any(sections.values()):
        warnings.append('%s: no images specified for the registry, skipped (as skopeo does)' % where)
        return []
    if '.' not in registry and ':' not in registry and registry != 'localhost' and '/' not in registry:
        warnings.append('%s: %s does not look like a registry host (no "." or ":"); as in skopeo, its repositories are read as '
                        'Docker Hub namespaces (%s)' % (where, quote(registry), quote('docker.io/%s/...' % registry)))
    entries = []
    for repo, references in sections['images'].items():
        repo_where = '%s.images%s' % (where, _key(repo))
        repository = _repository('%s/%s' % (registry, _text(repo, repo_where, 'a repository name')), repo_where)
        if references is None:
            references = []
        if not isinstance(references, list):
            raise InvalidInputError('%s: must be a list of tags or digests ([] for every tag), not %s' % (repo_where, kind_of(references)))
        parsed = tuple(_reference(item, '%s[%d]' % (repo_where, index)) for index, item in enumerate(references))
        entries.append(SyncEntry(origin=repo_where, repository=repository, references=parsed, registry=options))
    for repo, expression in sections['images-by-tag-regex'].items():
        repo_where = '%s.images-by-tag-regex%s' % (where, _key(repo))
        repository = _repository('%s/%s' % (registry, _text(repo, repo_where, 'a repository name')), repo_where)
        entries.append(SyncEntry(origin=repo_where, repository=repository, include=_regex(expression, repo_where), registry=options))
    for repo, constraint in sections['images-by-semver'].items():
        repo_where = '%s.images-by-semver%s' % (where, _key(repo))
        repository = _repository('%s/%s' % (registry, _text(repo, repo_where, 'a repository name')), repo_where)
        entries.append(SyncEntry(origin=repo_where, repository=repository, semver=_constraint(constraint, repo_where), registry=options))
    return entries


def parse_yaml_source(document: t.Any, root: str = 'images') -> SyncSpec:
    """skopeo's sync YAML, already loaded (the ``images`` option, or :func:`load_yaml_source`); ``root`` names it in messages."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InvalidInputError('%s: must be a mapping of registries, not %s' % (root, kind_of(document)))
    warnings: list[str] = []
    entries: list[SyncEntry] = []
    for registry, config in document.items():
        entries.extend(_yaml_registry(registry, config, root, warnings))
    return SyncSpec(entries=tuple(entries), warnings=tuple(warnings))


def load_yaml_source(path: str) -> SyncSpec:
    """Read and parse a skopeo sync YAML file (``src_file``): bounded, a repeated key refused, scalars kept as written."""
    what = 'sync file %s' % quote(path)
    try:
        raw = read_document(path, MAX_SOURCE_FILE_SIZE, ConfigError, what)
    except FileNotFoundError:
        raise ConfigError('%s does not exist' % what) from None
    return parse_yaml_source(load_yaml(raw, what, ConfigError, scalars_as_text=True), root=quote(path))


# -- the mapping form --------------------------------------------------------------------------------

def _mapping_item(item: t.Any, where: str) -> SyncEntry:
    if not isinstance(item, dict):
        raise InvalidInputError('%s: must be a mapping with src (and dest, tags, tag_regex, exclude_regex, semver, platforms), not %s'
                                % (where, kind_of(item)))
    unknown = sorted(str(key) for key in item if key not in _MAPPING_KEYS)
    if unknown:
        raise InvalidInputError('%s: unknown keys %s (known: %s)' % (where, ', '.join(quote(k) for k in unknown), ', '.join(_MAPPING_KEYS)))
    if item.get('src') is None:
        raise InvalidInputError('%s: src is required (a repository, repo:tag or repo@digest)' % where)
    repository, references = _split_image(_text(item['src'], where + '.src'), where + '.src')
    tags = item.get('tags')
    if tags is not None:
        if not isinstance(tags, list) or not tags:
            raise InvalidInputError('%s.tags: must be a non-empty list of tags or digests, not %s' % (where, kind_of(tags) if tags != [] else 'empty'))
        if references:
            raise InvalidInputError('%s: src %s already names one image; tags lists the tags of a repository' % (where, quote(item['src'])))
        references = tuple(_reference(tag, '%s.tags[%d]' % (where, index)) for index, tag in enumerate(tags))
    selection = tag_filter(item.get('tag_regex'), item.get('exclude_regex'), item.get('semver'), where=where)
    if references and (selection.include or selection.exclude or selection.semver):
        raise InvalidInputError('%s: tag_regex, exclude_regex and semver filter the tags of a repository; they cannot be combined with '
                                '%s' % (where, 'tags' if tags is not None else 'an image src (%s)' % quote(item['src'])))
    destination = None
    if item.get('dest') is not None:
        destination = _text(item['dest'], where + '.dest').strip('/')
        try:
            validate_repository_path(destination)
        except InvalidReferenceError as exc:
            raise _fail(where + '.dest', exc) from None
    return dataclasses.replace(selection, origin=where, repository=repository, references=tuple(dict.fromkeys(references)),
                               platforms=_platforms(item.get('platforms'), where + '.platforms'), destination=destination)


def parse_mapping(items: t.Any, root: str = 'mapping') -> SyncSpec:
    """The mapping form: a list of ``{src, dest, tags, tag_regex, exclude_regex, semver, platforms}``, strictly checked."""
    if not isinstance(items, list):
        raise InvalidInputError('%s: must be a list of mappings, not %s' % (root, kind_of(items)))
    return SyncSpec(entries=tuple(_mapping_item(item, '%s[%d]' % (root, index)) for index, item in enumerate(items)))


# -- selection and naming ----------------------------------------------------------------------------

def select_tags(entry: SyncEntry, tags: t.Iterable[str]) -> list[str]:
    """The tags of ``tags`` (a repository's tag list) that ``entry`` selects, in their order, each once.

    An entry with exact references returns them and ignores ``tags``. Otherwise a tag is kept when
    it is a valid tag (skopeo skips others), the include regex is found in it, the exclude regex
    is not, and it is a version satisfying the semver constraint (a tag that is no version is
    skipped). No filter: every valid tag.
    """
    if entry.references:
        return list(entry.references)
    selected: list[str] = []
    for tag in dict.fromkeys(tags):
        try:
            validate_tag(tag)
        except InvalidReferenceError:
            continue
        if entry.include is not None and not entry.include.search(tag):
            continue
        if entry.exclude is not None and entry.exclude.search(tag):
            continue
        if entry.semver is not None:
            version = try_parse_version(tag)
            if version is None or not entry.semver.check(version):
                continue
        selected.append(tag)
    return selected


#: What a sync does with the attachment tags in a tag list (:func:`attachment_kind`): leave them out, or copy them as tags.
ATTACHMENT_TAG_CHOICES = ('skip', 'copy')
_ATTACHMENT_TAG_RE = re.compile(r'(sha256|sha384|sha512)-([0-9a-f]+)(?:\.(sig|att|sbom))?')
_HEX_LENGTHS = {'sha256': 64, 'sha384': 96, 'sha512': 128}


def attachment_kind(tag: str) -> str | None:
    """``sig``, ``att``, ``sbom`` or ``referrers`` when ``tag`` names what other tools attach to a manifest; None for any other tag.

    Such a tag is named after the digest of the manifest it belongs to and lives in the same
    repository: cosign's signatures, attestations and SBOMs (``sha256-<hex>.sig``, ``.att``,
    ``.sbom``; containers/image's ``sigstoreAttachmentTag`` is the digest with its first ``:``
    replaced by ``-``, plus ``.sig``), and the OCI distribution spec's referrers tag schema
    (``<algorithm>-<hex truncated to 64>``, an index of a manifest's referrers kept by clients of
    registries without the referrers API). They are not images anyone tags; ``.sig`` signatures
    travel with their image when registries.d sets ``use-sigstore-attachments``.
    """
    match = _ATTACHMENT_TAG_RE.fullmatch(tag)
    if match is None:
        return None
    algorithm, hex_digits, suffix = match.groups()
    if suffix is not None:
        return suffix if len(hex_digits) == _HEX_LENGTHS[algorithm] else None
    return 'referrers' if len(hex_digits) == 64 else None


def select_layout_references(entry: SyncEntry) -> list[str]:
    """The tags and digests of a layout entry to sync: its tags :func:`select_tags` keeps, and its digests when it has no filter."""
    unfiltered = entry.include is None and entry.exclude is None and entry.semver is None
    tags = set(select_tags(entry, [reference for reference in entry.layout_references if not Digest.is_valid(reference)]))
    return [reference for reference in entry.layout_references if reference in tags or (unfiltered and Digest.is_valid(reference))]


def _go_clean(path: str) -> str:
    """Go's ``path.Clean``: like normpath, but a leading ``//`` becomes ``/``."""
    if not path:
        return '.'
    cleaned = posixpath.normpath(path)
    return '/' + cleaned.lstrip('/') if cleaned.startswith('//') else cleaned


def _go_join(*elements: str) -> str:
    """Go's ``path.Join``: empty elements ignored, the result cleaned; all empty gives ``""``."""
    kept = [element for element in elements if element]
    return _go_clean('/'.join(kept)) if kept else ''


def _go_base(path: str) -> str:
    """Go's ``path.Base``: the last element, trailing slashes removed; ``""`` gives ``.``, only slashes give ``/``."""
    if not path:
        return '.'
    stripped = path.rstrip('/')
    if not stripped:
        return '/'
    return stripped.rsplit('/', 1)[-1]


def _reference_suffix(tag_or_digest: str) -> str:
    return ('@' if Digest.is_valid(tag_or_digest) else ':') + tag_or_digest


def source_for(entry: SyncEntry, tag_or_digest: str | None = None) -> str:
    """The source image name: ``docker://docker.io/library/busybox:1.36`` (or ``@sha256:...``), ``dir:/path/image``, or
    ``oci:/layout:REF`` / ``oci-archive:/bundle.tar:REF`` with the ref name exactly as index.json spells it."""
    if entry.source_dir is not None:
        return 'dir:' + entry.source_dir
    if entry.layout is not None:
        names = dict(entry.layout_names)
        if tag_or_digest not in names:
            raise InvalidInputError('%s: no image %s in the source' % (entry.origin, quote(str(tag_or_digest))))
        return '%s:%s:%s' % (entry.layout_type, entry.layout, names[tag_or_digest])
    if entry.repository is None or not tag_or_digest:
        raise InvalidInputError('%s: a tag or digest is needed to name a source image' % entry.origin)
    return 'docker://%s%s' % (entry.repository.name, _reference_suffix(tag_or_digest))


def destination_suffix(entry: SyncEntry, tag_or_digest: str | None = None, scoped: bool = False) -> str:
    """skopeo's ``destSuffix`` after ``scoped``: the name joined onto the destination (before ``append_suffix``)."""
    if entry.destination is not None:
        if not tag_or_digest:
            raise InvalidInputError('%s: a tag or digest is needed to name a destination image' % entry.origin)
        return entry.destination + _reference_suffix(tag_or_digest)
    if entry.source_dir is not None:
        base = t.cast(str, entry.dir_base)
        relative = os.path.relpath(entry.source_dir, base) if entry.source_dir != base else ''
        suffix = '/' + relative.replace(os.sep, '/') if relative not in ('', '.') else _go_base(base)
    elif entry.layout is not None:
        if not tag_or_digest:
            raise InvalidInputError('%s: a tag or digest is needed to name a destination image' % entry.origin)
        # The name as the bundle spells it (a tag alone under the layout's base name), as a docker source's reference.
        suffix = '%s%s' % (entry.layout_repository, _reference_suffix(tag_or_digest))
    else:
        source = source_for(entry, tag_or_digest)
        suffix = source[len('docker://'):]
    return suffix if scoped else _go_base(suffix)


def destination_for(entry: SyncEntry, tag_or_digest: str | None, dest: str, dest_type: str, scoped: bool = False,
                    append_suffix: str = '') -> str:
    """The destination image name for one source image, validated: ``docker://host/repo:tag``, ``dir:/path/name:tag``,
    ``oci:/layout:name:tag`` or ``oci-archive:/file.tar:name:tag``.

    ``tag_or_digest`` is None for a dir source. Docker and dir destinations are
    ``path.Join(dest, suffix) + append_suffix`` exactly as skopeo; oci and oci-archive use ``dest``
    as the layout or archive path and the suffix (leading ``/`` removed) plus ``append_suffix`` as
    the ref name. A docker destination after a digest with ``append_suffix`` is refused.
    """
    if dest_type not in DEST_TYPES:
        raise InvalidInputError('invalid dest_type %s: expected one of %s' % (quote(dest_type), ', '.join(DEST_TYPES)))
    if not isinstance(dest, str) or not dest:
        raise InvalidInputError('dest must be a non-empty string')
    if entry.source_dir is not None and dest_type == 'dir':
        raise InvalidInputError('%s: a sync from dir to dir is not supported (as in skopeo); copy the directory instead' % entry.origin)
    suffix = destination_suffix(entry, tag_or_digest, scoped)
    if dest_type == 'docker':
        name = 'docker://' + _go_join(dest, suffix) + append_suffix
    elif dest_type == 'dir':
        name = 'dir:' + _go_join(dest, suffix) + append_suffix
    else:
        if ':' in dest:
            raise InvalidInputError('%s: the %s path %s contains ":", which would end the path' % (entry.origin, dest_type, quote(dest)))
        name = '%s:%s:%s' % (dest_type, dest, suffix.lstrip('/') + append_suffix)
    if dest_type == 'docker' and append_suffix and (tag_or_digest and Digest.is_valid(tag_or_digest) or '@' in suffix):
        raise InvalidInputError('%s: append_suffix %s cannot follow a digest (%s); a docker destination would get an invalid digest'
                                % (entry.origin, quote(append_suffix), quote(name)))
    try:
        parse_image_name(name)
    except InvalidReferenceError as exc:
        raise InvalidInputError('%s: the destination %s is not valid: %s' % (entry.origin, quote(name), exc.message)) from None
    return name


def destination_repository(entry: SyncEntry, dest: str, scoped: bool = False) -> str:
    """The destination repository an entry writes into (``host/path`` for docker), for ``prune``: the suffix without its tag or digest.

    For skopeo's naming the tag is part of the last element (``busybox:1.36``), so the repository
    is ``path.Join(dest, suffix)`` with ``:tag`` or ``@digest`` removed from that element; it does
    not depend on the tag, so every image of a docker entry lands in one repository.
    """
    suffix = destination_suffix(entry, 'latest', scoped) if entry.source_dir is None else destination_suffix(entry, None, scoped)
    joined = _go_join(dest, suffix)
    head, slash, last = joined.rpartition('/')
    last = last.split('@', 1)[0].split(':', 1)[0]
    return head + slash + last
