#!/bin/sh
# embed.sh FILE...: write a C file holding each migration as a string, in
# the order given, for lib/migrations.c. Migration N is FILE N (1-based).
echo '/* Generated from sql/ by sql/embed.sh: do not edit. */'
echo '#include <stddef.h>'
echo '#include <stdint.h>'
echo '#include <stdio.h>'
echo '#include "goip.h"'
echo 'const char *const migrations[] = {'
for f in "$@"; do
	echo "	/* $(basename "$f") */"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^\(.*\)$/	"\1\\n"/' "$f"
	echo '	,'
done
echo '	NULL'
echo '};'
echo "const int nmigrations = $#;"
