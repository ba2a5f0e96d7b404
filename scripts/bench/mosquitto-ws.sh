#!/usr/bin/env bash
# Builds a mosquitto broker that serves MQTT over WebSocket, for the bench's "Mosquitto (WS)"
# target, and prints the binary's path. Debian's own /usr/sbin/mosquitto (2.0.11) has websockets
# compiled in, but against Debian's libwebsockets (4.1.6), built without LWS_WITH_EXTERNAL_POLL:
# mosquitto then never sees the listening socket ("Unable to start any listening sockets") and,
# with a TCP listener beside it, serves WebSocket clients only when its 100 ms poll times out.
# So this rebuilds both from Debian's source packages (`apt-get source`, Debian's patches
# applied): libwebsockets with external poll, then mosquitto against it, with Debian's compiler
# flags (dpkg-buildflags) as for the system binary the TCP target runs.
# Everything goes to ${XDG_CACHE_HOME:-~/.cache}/pubsubbud/mosquitto-ws; a second run only
# prints the path. Needs root or sudo for apt-get, and adds a deb-src entry
# (/etc/apt/sources.list.d/pubsubbud-deb-src.sources, the URIs of debian.sources) if apt has none.
# The bench does not need it: without the binary it skips that target and says how to build it.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pubsubbud/mosquitto-ws"
binary="$cache/sbin/mosquitto"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { echo "mosquitto-ws: $*" >&2; }

if ! apt-cache showsrc mosquitto 2>/dev/null | grep -q '^Package: mosquitto'; then
  log "adding deb-src entries for apt-get source"
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
    as_root tee /etc/apt/sources.list.d/pubsubbud-deb-src.sources >/dev/null
  as_root apt-get update -qq
fi
log "installing build dependencies"
as_root apt-get install -y -qq --no-install-recommends build-essential cmake dpkg-dev \
  pkg-config libssl-dev libcjson-dev uthash-dev >&2

src="$cache/src"
rm -rf "$src"
mkdir -p "$src"
cd "$src"
log "fetching Debian's source packages"
apt-get source -qq mosquitto libwebsockets >&2
lws_dir="$(find . -maxdepth 1 -type d -name 'libwebsockets-*' | head -1)"
mosq_dir="$(find . -maxdepth 1 -type d -name 'mosquitto-*' | head -1)"

CFLAGS="$(dpkg-buildflags --get CFLAGS)"
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS CPPFLAGS LDFLAGS

log "building libwebsockets ($lws_dir) with LWS_WITH_EXTERNAL_POLL"
# As Debian's debian/rules for libwebsockets: OpenSSL 3 deprecations are no errors.
CFLAGS="$CFLAGS -Wno-error=deprecated-declarations -fno-strict-aliasing" cmake -S "$lws_dir" -B lws-build -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX="$cache" \
  -DCMAKE_INSTALL_LIBDIR=lib -DLWS_WITH_EXTERNAL_POLL=ON -DLWS_WITH_STATIC=OFF \
  -DLWS_WITH_SHARED=ON -DLWS_WITHOUT_TESTAPPS=ON -DLWS_IPV6=ON -DLWS_WITH_ZLIB=OFF \
  -DLWS_WITH_MINIMAL_EXAMPLES=OFF >&2
cmake --build lws-build -j "$(nproc)" >&2
cmake --install lws-build >&2

log "building mosquitto ($mosq_dir) with WITH_WEBSOCKETS=yes"
make -C "$mosq_dir/src" -j "$(nproc)" WITH_WEBSOCKETS=yes WITH_DOCS=no WITH_SYSTEMD=no \
  CPPFLAGS="$CPPFLAGS -I$cache/include" LDFLAGS="$LDFLAGS -L$cache/lib -Wl,-rpath,$cache/lib" \
  mosquitto >&2
mkdir -p "$cache/sbin"
install -m 755 "$mosq_dir/src/mosquitto" "$binary"
echo "$binary"
