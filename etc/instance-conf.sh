#!/bin/sh
#
# instance-conf.sh SERVER NAME=VALUE ...: print etc/SERVER.conf.in (next to
# this script; SERVER is lighttpd or httpd, Apache's) filled in with the
# values given: the web server configuration of one local instance
# (quickstart, the tests, the benchmarks), around the deployable site
# fragment of etc/.  In the template, @NAME@ is replaced by the value of
# NAME, which must be given and not empty; a line that begins with @?NAME@
# is kept (without that mark) only when NAME is given and not empty;
# comment lines are copied as they are.  ETC, the directory of the site
# fragments, is this script's; the names each template takes are listed in
# its head comment.
#
# An unknown SERVER, a NAME the template does not use, a placeholder left
# without a value, or a value holding a double quote, a backslash or a
# newline (it would end a string of the configuration) is an error: a
# message on standard error, nothing on standard output, exit status 1.
#
set -eu

etc=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
lighttpd|httpd) ;;
*)	echo "usage: instance-conf.sh lighttpd|httpd NAME=VALUE ..." >&2
	exit 1 ;;
esac
template="${etc}/$1.conf.in"
shift
exec awk -v etc="${etc}" -v template="${template##*/}" '
function die(msg) {
	print "instance-conf.sh: " msg >"/dev/stderr"
	failed = 1
	exit 1
}

BEGIN {
	v["ETC"] = etc
	# The assignments follow the template in ARGV: taken out here, so
	# that awk neither reads them as files nor as its own assignments.
	for (i = 2; i < ARGC; i++) {
		n = index(ARGV[i], "=")
		name = substr(ARGV[i], 1, n - 1)
		if (n < 2 || name !~ /^[A-Z_]+$/)
			die("not NAME=VALUE: " ARGV[i])
		value = substr(ARGV[i], n + 1)
		if (value ~ /["\\\n]/)
			die(name ": a value cannot hold \", \\ or a newline")
		v[name] = value
		given[name] = 1
		delete ARGV[i]
	}
}

/^#/ {
	conf[++nconf] = $0
	next
}

{
	line = $0
	if (match(line, /^@\?[A-Z_]+@/)) {
		name = substr(line, 3, RLENGTH - 3)
		used[name] = 1
		line = substr(line, RLENGTH + 1)
		if (v[name] == "")
			next
	}
	out = ""
	while (match(line, /@[A-Z_]+@/)) {
		name = substr(line, RSTART + 1, RLENGTH - 2)
		used[name] = 1
		if (v[name] == "")
			die(FILENAME ":" FNR ": no value for " name)
		out = out substr(line, 1, RSTART - 1) v[name]
		line = substr(line, RSTART + RLENGTH)
	}
	conf[++nconf] = out line
}

END {
	if (failed)
		exit 1
	for (name in given)
		if (!(name in used))
			die("unknown name " name)
	print "# Made by etc/instance-conf.sh from etc/" template "."
	for (i = 1; i <= nconf; i++)
		print conf[i]
}' "${template}" "$@"
