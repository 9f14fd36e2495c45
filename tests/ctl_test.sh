#
# ctl_test: goipctl as a black box: init, migrate, check, device add, list,
# token, remove, prune, sms send and list; usage errors exit 2, other
# errors exit 1 with a message; a token is printed once and only its hash
# is stored.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# conf [LINES]: write goip.conf for a database in the work directory, and
# bin/ctl, goipctl with it, first in PATH (atf_check runs programs, not
# shell functions).
conf()
{
	mkdir -p bin
	printf '#!/bin/sh\nexec "%s" -c "%s/goip.conf" "$@"\n' "${GOIP_CTL}" \
	    "$(pwd)" >bin/ctl
	chmod +x bin/ctl
	case ":${PATH}:" in
	*":$(pwd)/bin:"*) ;;
	*) export PATH="$(pwd)/bin:${PATH}" ;;
	esac
	cat >goip.conf <<EOF
database = $(pwd)/goip.db
notify_socket = $(pwd)/notify.sock
${1:-}
EOF
}

# init: configuration and an initialised database.
init()
{
	conf "$@"
	atf_check -o match:"created, schema version [0-9]+" ctl init
}

# q SQL: the answer of SQL on the test database.
q()
{
	sqlite3 -batch goip.db "$1"
}

# heartbeat TOKEN: print the status goip-cgi answers a heartbeat with TOKEN.
heartbeat()
{
	goip_cgi "$(pwd)" POST /api/device/heartbeat '{}' \
	    HTTP_AUTHORIZATION="Bearer $1" | goip_cgi_status
}

ctl_case()
{
	atf_test_case "$1"
	eval "$1_head() { atf_set descr \"$2\"; atf_set require.progs sqlite3; }"
}

ctl_case init__creates_schema "init creates the database with the whole schema, mode 0640, and refuses to run twice"
init__creates_schema_body()
{
	init
	[ -f goip.db ] || atf_fail "no database"
	[ "$(stat -c %a goip.db)" = 640 ] || atf_fail "mode $(stat -c %a goip.db)"
	[ "$(q 'PRAGMA user_version')" -ge 1 ] || atf_fail "no schema version"
	[ "$(q 'PRAGMA journal_mode')" = wal ] || atf_fail "not WAL"
	for t in devices sim_slots heartbeats sms events counters; do
		[ "$(q "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '${t}'")" = 1 ] ||
		    atf_fail "no table ${t}"
	done
	atf_check -s exit:1 -o empty -e match:"already initialised" ctl init
}

ctl_case init__errors "init fails with a message when the database directory is missing"
init__errors_body()
{
	conf
	echo "database = $(pwd)/no/such/dir/goip.db" >>goip.conf
	atf_check -s exit:1 -o empty -e match:"goipctl: .*goip.db" ctl init
}

ctl_case migrate__idempotent "migrate on a current database applies nothing; on a schema-less file applies everything; on a newer schema fails"
migrate__idempotent_body()
{
	local v

	init
	v=$(q 'PRAGMA user_version')
	atf_check -o match:"0 migrations applied, schema version ${v}" ctl migrate
	rm -f goip.db goip.db-wal goip.db-shm
	q 'CREATE TABLE unrelated(x)'
	atf_check -o match:"${v} migration(s)? applied" ctl migrate
	[ "$(q 'PRAGMA user_version')" = "${v}" ] || atf_fail "version not set"
	q "PRAGMA user_version = $((v + 1))"
	atf_check -s exit:1 -o empty -e match:"newer than this program" ctl migrate
	atf_check -s exit:1 -o empty -e match:"newer than this program" ctl device list
	rm -f goip.db goip.db-wal goip.db-shm
	atf_check -s exit:1 -o empty -e match:"goip.db" ctl migrate
}

ctl_case check__config_and_database "check prints the effective configuration and checks the database"
check__config_and_database_body()
{
	init "busy_timeout = 250ms
dashboard_auth = none"
	atf_check -o match:"^busy_timeout = 250ms$" -o match:"^dashboard_auth = none$" \
	    -o match:"^heartbeat_interval = 30s$" -o match:"ok \(schema version [0-9]+\)" \
	    ctl check
	rm -f goip.db goip.db-wal goip.db-shm
	q 'SELECT 1' >/dev/null
	atf_check -s exit:1 -o ignore -e match:"no schema: run goipctl init" ctl check
}

ctl_case check__before_init "check before init names the missing database and says to run goipctl init"
check__before_init_body()
{
	conf
	atf_check -s exit:1 -o ignore \
	    -e match:"goip.db: no database: run goipctl init" ctl check
	[ ! -e goip.db ] || atf_fail "check created the database"
}

atf_test_case init__root_refuses cleanup
init__root_refuses_head()
{
	atf_set descr "init as root refuses to create a database in a directory the service user owns, and names the command to run"
	atf_set require.user root
}
init__root_refuses_body()
{
	local d

	d=$(goip_tmpdir)/db
	mkdir "${d}"
	chown nobody "${d}"
	conf "database = ${d}/goip.db"
	atf_check -s exit:1 -o empty \
	    -e match:"init as root would create it owned by root, but ${d} belongs to nobody" \
	    -e match:"run \"runuser -u nobody -- goipctl init\"" ctl init
	[ -z "$(ls -A "${d}")" ] || atf_fail "init left files: $(ls -A "${d}")"
	# nobody may not reach the build tree (a clone under a 0700 folder).
	install -m 0755 "${GOIP_CTL}" "${d%/db}/goipctl"
	atf_check -o match:"created, schema version" \
	    runuser -u nobody -- "${d%/db}/goipctl" -c "$(pwd)/goip.conf" init
	[ "$(stat -c %U "${d}/goip.db")" = nobody ] || atf_fail "not nobody's"
	# root may then work on it: SQLite gives the files it adds the
	# database's owner.
	atf_check -o ignore ctl device add goip-01
	for f in "${d}"/*; do
		[ "$(stat -c %U "${f}")" = nobody ] || atf_fail "${f} is not nobody's"
	done
}
init__root_refuses_cleanup()
{
	goip_cleanup
}

atf_test_case open__permission_named cleanup
open__permission_named_head()
{
	atf_set descr "a database its user may not open is an error naming the file, the user and the missing permission"
}
open__permission_named_body()
{
	local d as user

	d=$(goip_tmpdir)/db
	mkdir "${d}"
	conf "database = ${d}/goip.db"
	atf_check -o ignore ctl init
	as=""
	# nobody may not reach the build tree (a clone under a 0700 folder).
	install -m 0755 "${GOIP_CTL}" "${d%/db}/goipctl"
	if [ "$(id -u)" -eq 0 ]; then
		as="runuser -u nobody --"
		user=nobody
	else
		user=$(id -un)
	fi
	chmod 0200 "${d}/goip.db"
	atf_check -s exit:1 -o empty \
	    -e match:"${d}/goip.db: .*: user ${user} \(uid [0-9]+\) may not read ${d}/goip.db \([a-z0-9]+:[a-z0-9]+, mode 0200\)" \
	    ${as} "${d%/db}/goipctl" -c "$(pwd)/goip.conf" device list
	# Readable but not writable: a write names the write permission.
	chmod 0444 "${d}/goip.db"
	atf_check -s exit:1 -o empty \
	    -e match:"user ${user} \(uid [0-9]+\) may not write ${d}/goip.db" \
	    ${as} "${d%/db}/goipctl" -c "$(pwd)/goip.conf" device add goip-02
	chmod 0640 "${d}/goip.db"
	chmod 0700 "${d}"
	[ -n "${as}" ] || chmod 0000 "${d}"
	atf_check -s exit:1 -o empty \
	    -e match:"${d}/goip.db: unable to open database file: user ${user} \(uid [0-9]+\) may not enter ${d} \(.*, mode 0[0-7]+\)" \
	    ${as} "${d%/db}/goipctl" -c "$(pwd)/goip.conf" device list
	chmod 0755 "${d}"
}
open__permission_named_cleanup()
{
	[ ! -f goip-tmpdirs ] || chmod -R u+rwx $(cat goip-tmpdirs)
	goip_cleanup
}

ctl_case check__bad_config "a configuration error is reported as FILE:LINE and exits 1, for every command"
check__bad_config_body()
{
	conf "busy_timeout = 5 seconds"
	atf_check -s exit:1 -o empty \
	    -e match:"goip.conf:3: busy_timeout: expected a duration" ctl check
	conf "no_such_key = 1"
	atf_check -s exit:1 -o empty -e match:"goip.conf:3: unknown key" ctl init
	atf_check -s exit:1 -o empty -e match:"goip.conf:3: unknown key" \
	    ctl device add goip-01
	atf_check -s exit:1 -o empty -e match:"missing.conf: No such file" \
	    "${GOIP_CTL}" -c missing.conf check
	# $GOIP_CONF is read when -c is not given.
	conf "database = $(pwd)/env.db"
	atf_check -o match:"env.db: created" env GOIP_CONF="$(pwd)/goip.conf" \
	    "${GOIP_CTL}" init
}

ctl_case device_add__token_once "device add prints the token once, alone on standard output; only its SHA-256 is stored"
device_add__token_once_body()
{
	local token hash

	init
	token=$(ctl device add goip-01 --name "Lab Żółw") ||
	    atf_fail "device add failed"
	[ "$(printf '%s\n' "${token}" | wc -l)" = 1 ] || atf_fail "more than one line"
	echo "${token}" | grep -Eq '^[A-Za-z0-9_-]{43}$' ||
	    atf_fail "token '${token}' is not 43 base64url characters"
	hash=$(printf '%s' "${token}" | sha256sum | cut -c1-64 | tr a-f A-F)
	[ "$(q "SELECT hex(token_hash) FROM devices WHERE device_id = 'goip-01'")" = "${hash}" ] ||
	    atf_fail "stored hash is not SHA-256 of the token"
	[ "$(q "SELECT name FROM devices WHERE device_id = 'goip-01'")" = "Lab Żółw" ] ||
	    atf_fail "name not stored"
	# The token is nowhere in the database files, nor in any output.
	sqlite3 goip.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	if grep -q -F "${token}" goip.db*; then
		atf_fail "the token is stored in clear"
	fi
	atf_check -o not-match:"${token}" -o match:"goip-01" -o match:"Lab Żółw" \
	    ctl device list
	atf_check -o not-match:"${token}" -o ignore ctl check
	[ "$(heartbeat "${token}")" = 200 ] || atf_fail "the printed token does not work"
	[ "$(heartbeat "x${token}")" = 401 ] || atf_fail "a wrong token works"
	# Another device gets another token.
	[ "$(ctl device add goip-02)" != "${token}" ] || atf_fail "same token twice"
}

ctl_case device_add__errors "device add refuses an existing id, an invalid id or name (exit 1), and bad arguments (exit 2)"
device_add__errors_body()
{
	init
	atf_check -o ignore ctl device add goip-01
	atf_check -s exit:1 -o empty -e match:"goip-01: device exists" ctl device add goip-01
	atf_check -s exit:1 -o empty -e match:"invalid device id" ctl device add "goip 01"
	atf_check -s exit:1 -o empty -e match:"invalid device id" ctl device add "../x"
	atf_check -s exit:1 -o empty -e match:"invalid device id" \
	    ctl device add "$(printf 'x%.0s' $(seq 65))"
	atf_check -s exit:1 -o empty -e match:"invalid name" \
	    ctl device add goip-03 --name "$(printf 'n%.0s' $(seq 129))"
	atf_check -s exit:1 -o empty -e match:"invalid name" \
	    ctl device add goip-03 --name "$(printf 'bad \377 byte')"
	atf_check -s exit:1 -o empty -e match:"invalid name" \
	    ctl device add goip-03 --name "$(printf 'two\nlines')"
	atf_check -s exit:1 -o empty -e match:"invalid name" \
	    ctl device add goip-03 --name "$(printf 'esc \033[2J')"
	atf_check -s exit:2 -o empty -e match:"usage" ctl device add
	atf_check -s exit:2 -o empty -e match:"usage" ctl device add goip-03 --name
	atf_check -s exit:2 -o empty -e match:"usage" ctl device add goip-03 extra
	atf_check -s exit:2 -o empty -e match:"usage" ctl device add goip-03 --nam x
	[ "$(q 'SELECT count(*) FROM devices')" = 1 ] || atf_fail "a refused add stored a device"
}

ctl_case device_list__shape "device list shows every device with status, last seen and name"
device_list__shape_body()
{
	local t

	init
	atf_check -o match:"^DEVICE +STATUS +LAST SEEN +NAME$" ctl device list
	[ "$(ctl device list | wc -l)" = 1 ] || atf_fail "empty list has rows"
	t=$(ctl device add goip-b --name "Second")
	ctl device add goip-a >/dev/null
	[ "$(heartbeat "${t}")" = 200 ] || atf_fail "heartbeat"
	ctl device list >list.out
	[ "$(wc -l <list.out)" = 3 ] || atf_fail "$(cat list.out)"
	sed -n 2p list.out | grep -Eq '^goip-a +offline +never *$' ||
	    atf_fail "goip-a row: $(sed -n 2p list.out)"
	sed -n 3p list.out | grep -Eq '^goip-b +online +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z +Second$' ||
	    atf_fail "goip-b row: $(sed -n 3p list.out)"
	atf_check -s exit:2 -o empty -e match:"usage" ctl device list extra
}

ctl_case device_token__rotate "device token prints a new token; the old one stops working"
device_token__rotate_body()
{
	local old new

	init
	old=$(ctl device add goip-01)
	[ "$(heartbeat "${old}")" = 200 ] || atf_fail "old token refused"
	new=$(ctl device token goip-01) || atf_fail "device token failed"
	echo "${new}" | grep -Eq '^[A-Za-z0-9_-]{43}$' || atf_fail "bad token '${new}'"
	[ "${new}" != "${old}" ] || atf_fail "the token did not change"
	[ "$(heartbeat "${old}")" = 401 ] || atf_fail "the old token still works"
	[ "$(heartbeat "${new}")" = 200 ] || atf_fail "the new token does not work"
	atf_check -s exit:1 -o empty -e match:"goip-99: no such device" ctl device token goip-99
	atf_check -s exit:1 -o empty -e match:"invalid device id" ctl device token "a b"
	atf_check -s exit:2 -o empty -e match:"usage" ctl device token
	atf_check -s exit:2 -o empty -e match:"usage" ctl device token goip-01 extra
}

ctl_case device_remove__data_gone "device remove deletes the device and its data; its token stops working"
device_remove__data_gone_body()
{
	local t

	init
	t=$(ctl device add goip-01)
	ctl device add goip-02 >/dev/null
	[ "$(heartbeat "${t}")" = 200 ] || atf_fail "heartbeat"
	atf_check -o ignore ctl sms send goip-01 1 +48500100200 "queued text"
	atf_check -o empty -e empty ctl device remove goip-01
	[ "$(q "SELECT count(*) FROM devices WHERE device_id = 'goip-01'")" = 0 ] ||
	    atf_fail "device still there"
	[ "$(q 'SELECT count(*) FROM sms') $(q 'SELECT count(*) FROM heartbeats')" = "0 0" ] ||
	    atf_fail "its data is still there"
	[ "$(heartbeat "${t}")" = 401 ] || atf_fail "the removed device's token works"
	atf_check -o not-match:"goip-01" -o match:"goip-02" ctl device list
	atf_check -s exit:1 -o empty -e match:"goip-01: no such device" ctl device remove goip-01
	atf_check -s exit:2 -o empty -e match:"usage" ctl device remove
	atf_check -s exit:2 -o empty -e match:"usage" ctl device frob goip-02
}

ctl_case prune__old_events "prune deletes events older than event_retention and keeps the newest event and the id sequence"
prune__old_events_body()
{
	local t last

	init "event_retention = 1h"
	t=$(ctl device add goip-01)
	for i in 1 2 3; do
		[ "$(heartbeat "${t}")" = 200 ] || atf_fail "heartbeat"
	done
	atf_check -o match:"^0 events pruned$" ctl prune
	last=$(q 'SELECT max(id) FROM events')
	# Age every event by two hours: all go but the newest.
	q 'UPDATE events SET at = at - 7200000'
	atf_check -o match:"^$((last - 1)) events pruned$" ctl prune
	[ "$(q 'SELECT group_concat(id) FROM events')" = "${last}" ] ||
	    atf_fail "kept: $(q 'SELECT group_concat(id) FROM events')"
	[ "$(heartbeat "${t}")" = 200 ] || atf_fail "heartbeat"
	[ "$(q 'SELECT min(id) FROM events')" = "${last}" ] &&
	[ "$(q 'SELECT max(id) FROM events')" -gt "${last}" ] ||
	    atf_fail "ids restarted after a prune"
	atf_check -s exit:2 -o empty -e match:"usage" ctl prune now
}

ctl_case sms__send_and_list "sms send queues a message and prints it as JSON; sms list prints recent messages as JSON lines"
sms__send_and_list_body()
{
	init
	ctl device add goip-01 >/dev/null
	ctl device add goip-02 >/dev/null
	atf_check -o match:'"status":"queued"' -o match:'"text":"Zażółć 🚀"' \
	    -o match:'"segments":1' ctl sms send goip-01 1 +48500100200 "Zażółć 🚀"
	atf_check -o ignore ctl sms send goip-02 2 8080 "second"
	ctl sms list >list.out || atf_fail "sms list failed"
	[ "$(wc -l <list.out)" = 2 ] || atf_fail "$(cat list.out)"
	head -n 1 list.out | grep -q '"text":"second"' || atf_fail "not newest first"
	if command -v jq >/dev/null; then
		jq -e . list.out >/dev/null || atf_fail "not JSON lines"
	fi
	atf_check -o match:'Zażółć' -o not-match:'second' ctl sms list --device goip-01
	[ "$(ctl sms list --limit 1 | wc -l)" = 1 ] || atf_fail "--limit ignored"
	atf_check -s exit:1 -o empty -e match:"goip-99: no such device" ctl sms list --device goip-99
	atf_check -s exit:1 -o empty -e match:"goip-99: no such device" \
	    ctl sms send goip-99 1 +48500100200 text
	atf_check -s exit:1 -o empty -e match:"invalid slot" ctl sms send goip-01 0 +48500100200 text
	atf_check -s exit:1 -o empty -e match:"invalid slot" ctl sms send goip-01 x +48500100200 text
	atf_check -s exit:1 -o empty -e match:"to: must be an E.164" ctl sms send goip-01 1 +0123 text
	atf_check -s exit:1 -o empty -e match:"UTF-8" ctl sms send goip-01 1 +48500100200 "$(printf '\377')"
	atf_check -s exit:2 -o empty -e match:"usage" ctl sms send goip-01 1 +48500100200
	atf_check -s exit:2 -o empty -e match:"usage" ctl sms list --limit 0
	atf_check -s exit:2 -o empty -e match:"usage" ctl sms list --device
	atf_check -s exit:2 -o empty -e match:"usage" ctl sms frob
	[ "$(q "SELECT count(*) FROM sms")" = 2 ] || atf_fail "a refused send stored something"
}

ctl_case usage__exit_2 "usage errors print the usage to standard error and exit 2"
usage__exit_2_body()
{
	conf
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" "${GOIP_CTL}"
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl frobnicate
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl init now
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl migrate now
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl check now
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl device
	atf_check -s exit:2 -o empty -e match:"^usage: goipctl" ctl sms
	atf_check -s exit:2 -o empty -e match:"usage: goipctl" "${GOIP_CTL}" -x init
	atf_check -s exit:2 -o empty -e match:"usage: goipctl" "${GOIP_CTL}" -c
	[ ! -f goip.db ] || atf_fail "a usage error created the database"
}

atf_init_test_cases()
{
	atf_add_test_case init__creates_schema
	atf_add_test_case init__errors
	atf_add_test_case migrate__idempotent
	atf_add_test_case check__config_and_database
	atf_add_test_case check__bad_config
	atf_add_test_case check__before_init
	atf_add_test_case init__root_refuses
	atf_add_test_case open__permission_named
	atf_add_test_case device_add__token_once
	atf_add_test_case device_add__errors
	atf_add_test_case device_list__shape
	atf_add_test_case device_token__rotate
	atf_add_test_case device_remove__data_gone
	atf_add_test_case prune__old_events
	atf_add_test_case sms__send_and_list
	atf_add_test_case usage__exit_2
}
