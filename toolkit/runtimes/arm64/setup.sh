#!/usr/bin/env bash
# Builds, once, the aarch64 Python that the litert-arm64 runtime runs under qemu-user:
#   DEST/sysroot   Debian bookworm's arm64 CPython 3.11 and the libraries it loads (apt-get download + dpkg-deb -x:
#                  the host's packages are untouched), ai-edge-litert and numpy from their manylinux aarch64 wheels,
#                  and a /proc/cpuinfo describing the emulated CPU (see below)
#   DEST/VERSIONS  what was installed; DEST/.installed the stamp make checks
# Usage: setup.sh DEST HOST_PIP. It never fails: when a step cannot be done here (no root for apt, no network),
# it writes the reason to DEST/UNAVAILABLE, and the runtime reports itself unavailable with that line.
set -uo pipefail
mkdir -p "$1"
DEST=$(cd "$1" && pwd)
PIP=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
DEBS="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libgcc-s1 libstdc++6 zlib1g libexpat1
      libffi8 libbz2-1.0 liblzma5 libcrypt1 libssl3 libuuid1"
PLATFORMS="--platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64"
FIX="then run \`rm -rf $DEST && make setup\`"
rm -f "$DEST/UNAVAILABLE" "$DEST/.installed"
WORK=$(mktemp -d "$DEST/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

unavailable() {
    echo "$1; $FIX" > "$DEST/UNAVAILABLE"
    touch "$DEST/.installed"  # a second make does nothing; the runtime says why and how to fix
    echo "litert-arm64 is unavailable: $1" >&2
    exit 0
}
is_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
log() { echo "arm64 setup: $*" >&2; }
why() { grep -m1 -E "^E:|ERROR" "$1" || tail -1 "$1" | grep . || echo "no output"; }  # a failed step's one line

if ! command -v qemu-aarch64-static >/dev/null; then
    is_root || unavailable "qemu-aarch64-static is missing and apt needs root: \`apt-get install qemu-user-static\` as root"
    log "apt-get install qemu-user-static"
    apt-get install -y -q --no-install-recommends qemu-user-static >"$WORK/apt.log" 2>&1 \
        || { apt-get update -q >>"$WORK/apt.log" 2>&1 && apt-get install -y -q --no-install-recommends qemu-user-static >>"$WORK/apt.log" 2>&1; } \
        || unavailable "apt-get install qemu-user-static failed: $(why "$WORK/apt.log")"
fi
# Debian's arm64 packages are only downloaded and unpacked here, never installed on the host.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    is_root || unavailable "Debian's arm64 packages need \`dpkg --add-architecture arm64 && apt-get update\` as root"
    dpkg --add-architecture arm64 || unavailable "dpkg --add-architecture arm64 failed"
fi
if ! apt-cache show python3.11-minimal:arm64 >/dev/null 2>&1; then
    is_root || unavailable "the arm64 package lists are missing: \`apt-get update\` as root"
    log "apt-get update (arm64 package lists)"
    apt-get update -q >"$WORK/apt.log" 2>&1 || unavailable "apt-get update failed: $(why "$WORK/apt.log")"
fi

log "downloading arm64 CPython 3.11 and the aarch64 wheels"
mkdir -p "$WORK/debs" "$WORK/wheels" "$WORK/sysroot"
# shellcheck disable=SC2086
(cd "$WORK/debs" && apt-get download -q $(printf '%s:arm64 ' $DEBS) >"$WORK/apt.log" 2>&1) \
    || unavailable "apt-get download of the arm64 packages failed: $(why "$WORK/apt.log")"
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/sysroot" || unavailable "dpkg-deb -x $deb failed"; done
# shellcheck disable=SC2086
"$PIP" download --quiet --disable-pip-version-check --no-deps $PLATFORMS --python-version 3.11 --implementation cp \
    --only-binary=:all: -d "$WORK/wheels" -r "$HERE/requirements.lock" >"$WORK/pip.log" 2>&1 \
    || unavailable "pip download of the aarch64 wheels failed: $(why "$WORK/pip.log")"
# shellcheck disable=SC2086
"$PIP" install --quiet --disable-pip-version-check --no-deps --no-index $PLATFORMS --python-version 3.11 \
    --implementation cp --only-binary=:all: --target "$WORK/sysroot/usr/lib/python3/dist-packages" "$WORK"/wheels/*.whl \
    >"$WORK/pip.log" 2>&1 || unavailable "pip install --target of the aarch64 wheels failed: $(why "$WORK/pip.log")"

# qemu-user opens an absolute path under its -L prefix when the file exists there, so these files replace the
# host's for the emulated process. Without them, LiteRT's CPU detection (cpuinfo) parses the x86 /proc/cpuinfo
# and crashes; with them it sees what qemu emulates (-cpu cortex-a76, see litert_arm64.py): two Cortex-A76
# cores, ARMv8.2 with fp16 arithmetic and dot product, a 2019-2021 phone's big core.
mkdir -p "$WORK/sysroot/proc" "$WORK/sysroot/sys/devices/system/cpu"
for cpu in 0 1; do
    printf 'processor\t: %s\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' "$cpu"
done > "$WORK/sysroot/proc/cpuinfo"
echo 0-1 > "$WORK/sysroot/sys/devices/system/cpu/possible"
echo 0-1 > "$WORK/sysroot/sys/devices/system/cpu/present"

rm -rf "$DEST/sysroot"
mv "$WORK/sysroot" "$DEST/sysroot"
log "checking the emulated interpreter"
versions=$(qemu-aarch64-static -cpu cortex-a76 -L "$DEST/sysroot" "$DEST/sysroot/usr/bin/python3.11" -c \
    "import platform, numpy, ai_edge_litert.interpreter as i, importlib.metadata as m; print('python', platform.python_version(), platform.machine()); print('numpy', numpy.__version__); print('ai-edge-litert', m.version('ai-edge-litert'))" 2>"$WORK/check.log") \
    || { rm -rf "$DEST/sysroot"; unavailable "the emulated Python does not start: $(why "$WORK/check.log")"; }
{ echo "$versions"; qemu-aarch64-static --version | head -1; dpkg-deb -W --showformat='${Package}:arm64 ${Version}\n' "$WORK"/debs/*.deb; } > "$DEST/VERSIONS"
touch "$DEST/.installed"
log "ready: $(echo "$versions" | paste -sd' ')"
