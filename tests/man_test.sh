#
# man_test: every man page is clean under "mandoc -Tlint -W warning", and
# its rendered text repeats no sentence in a row.
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
		atf_set descr 'man/$1.$2 is mdoc without mandoc warnings or errors, and repeats no sentence in a row'
		atf_set require.progs 'mandoc col'
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
	man_repeats "${page}" >repeats
	[ ! -s repeats ] ||
	    atf_fail "$1 repeats a sentence in a row: $(head -n 3 repeats)"
}

# man_repeats PAGE: print each sentence (of four words or more) of the
# rendered PAGE that comes twice in a row, lower case: the same words (case,
# punctuation and line breaks aside) up to a sentence end, then again, with
# at most one stray word between (a request left in a text line, a list
# tag).  A sentence ends at . ! ? : or ; after a letter, a digit or a
# parenthesis, before a space or more punctuation.
man_repeats()
{
	mandoc -Tascii "$1" | col -b | awk '
	{ text = text " " tolower($0) " " }
	END {
		gsub(/[a-z0-9)][.!?:;]+[)"\047]*([ \t]|[.!?:;])/, "& \001 ", text)
		gsub(/[^a-z0-9\001]+/, " ", text)
		n = split(text, w, " ")
		for (i = 1; i <= n; i++)
			for (k = 5; k <= 80 && i + 2 * k - 1 <= n; k++) {
				if (w[i + k - 1] != "\001")
					continue
				for (g = 0; g <= 1; g++) {
					for (j = 0; j < k && w[i + j] == w[i + k + g + j]; j++)
						;
					if (j == k)
						break
				}
				if (j < k)
					continue
				s = ""
				for (j = 0; j < k - 1; j++)
					if (w[i + j] != "\001")
						s = s (s == "" ? "" : " ") w[i + j]
				if (split(s, tmp, " ") < 4)
					continue
				print s
				i += 2 * k
				break
			}
	}'
}

MAN_CASES=
man_case goip-cgi 8
man_case goip-notifier 8
man_case goip-udpd 8
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
