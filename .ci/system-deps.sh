#!/bin/sh
# Install the Debian packages the tests and the demo need, or say clearly why we cannot.
set -u
PKGS="docker-registry skopeo umoci gnupg podman python3-venv apache2-utils shellcheck"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ERROR: these system packages are missing and this is not a Debian-like system (no apt-get):$missing" >&2
    echo "       Install the equivalents by hand, then run make again." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ERROR: missing system packages:$missing" >&2
        echo "       Run as root or install them: apt-get install$missing" >&2
        exit 1
    fi
fi
echo "Installing system packages:$missing"
if ! $SUDO apt-get update -qq >/tmp/ocikit-apt.log 2>&1; then
    echo "ERROR: 'apt-get update' failed (see /tmp/ocikit-apt.log); cannot install:$missing" >&2
    exit 1
fi
# $missing is a list of package names: it must split into words.
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >>/tmp/ocikit-apt.log 2>&1; then
    echo "ERROR: 'apt-get install$missing' failed (see /tmp/ocikit-apt.log)." >&2
    echo "       These packages are needed: docker-registry (test registry), skopeo and umoci (interop peers)," >&2
    echo "       gnupg (signing), podman (daemon transports), python3-venv, apache2-utils, shellcheck (sanity)." >&2
    exit 1
fi
