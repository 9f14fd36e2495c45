#!/bin/sh
#
# vendor.sh: put the browser builds of the dashboard's npm dependencies in
# place.  Usage: sh vendor.sh SRCDIR DESTDIR
#
# SRCDIR is the htdocs folder of the source tree (package.json and
# package-lock.json); DESTDIR the htdocs folder of the build tree (the same
# for an in-tree build).  Installs the locked packages with "npm ci" in
# DESTDIR unless they are already there, then copies the files the page
# loads into DESTDIR/vendor/:
#
#	socket.io.min.js	socket.io-client (the global "io")
#	uPlot.iife.min.js	uPlot (the global "uPlot")
#	uPlot.min.css
#
# Nothing from the packages is kept in the repository; vendor/ and
# node_modules/ are git-ignored.  Exits non-zero when npm is missing or
# fails: a dashboard without its scripts is broken, not optional.
#
set -eu

src=${1:-.}
dest=${2:-${src}}

mkdir -p "${dest}"
if [ "$(cd "${src}" && pwd -P)" != "$(cd "${dest}" && pwd -P)" ]; then
	cp "${src}/package.json" "${src}/package-lock.json" "${dest}/"
fi

nm="${dest}/node_modules"
if [ ! -f "${nm}/socket.io-client/dist/socket.io.min.js" ] ||
    [ ! -f "${nm}/uplot/dist/uPlot.iife.min.js" ] ||
    [ "${dest}/package-lock.json" -nt "${nm}/.package-lock.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "vendor.sh: npm not found: install nodejs and npm" >&2
		exit 1
	fi
	(cd "${dest}" && npm ci --ignore-scripts --no-audit --no-fund \
	    --loglevel=error)
fi

mkdir -p "${dest}/vendor"
for f in socket.io-client/dist/socket.io.min.js \
    socket.io-client/dist/socket.io.min.js.map \
    uplot/dist/uPlot.iife.min.js uplot/dist/uPlot.min.css; do
	cp "${nm}/${f}" "${dest}/vendor/"
done
