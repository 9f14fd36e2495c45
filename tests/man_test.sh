#
# man_test: every man page is clean under "mandoc -Tlint -W warning".
#

# man_case NAME SECTION: define test case NAME_SECTION__lint.
man_case()
{
	local id

	id=$(echo "$1_$2" | tr -c 'A-Za-z0-9_\n' '_')
	eval "
	atf_test_case ${id}__lint
	${id}__lint_head()
	{
		atf_set descr 'man/$1.$2 is mdoc without mandoc warnings or errors'
		atf_set require.progs mandoc
	}
	${id}__lint_body()
	{
		man_lint '$1.$2'
	}"
	MAN_CASES="${MAN_CASES} ${id}__lint"
}

# man_lint PAGE: run the lint on man/PAGE of the source tree.
man_lint()
{
	local page="${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/man/$1"

	[ -f "${page}" ] || atf_fail "${page} is missing"
	atf_check -s exit:0 -o empty -e empty mandoc -Tlint -W warning "${page}"
	# The page must also render: no empty output.
	atf_check -s exit:0 -o not-empty -e empty mandoc -Tascii "${page}"
}

MAN_CASES=
man_case goip-cgi 8
man_case goip-notifier 8
man_case goipctl 8
man_case goip.conf 5
man_case goip-api 7

atf_init_test_cases()
{
	local c

	for c in ${MAN_CASES}; do
		atf_add_test_case "${c}"
	done
}
