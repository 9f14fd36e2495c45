# goip_hardening.m4: compiler and linker flag checks for hardened builds.
#
# GOIP_CHECK_CFLAG(FLAG, VARIABLE, [EXTRA-FLAGS])
#	Append FLAG to VARIABLE when the C compiler accepts it without a
#	warning: a test program is compiled with $CFLAGS EXTRA-FLAGS FLAG
#	-Werror.  Set goip_cv_cflag to yes or no.
# GOIP_CHECK_LDFLAG(FLAG, VARIABLE, [EXTRA-FLAGS])
#	The same for a flag of the link step: a test program is compiled and
#	linked with $CFLAGS EXTRA-FLAGS and $LDFLAGS FLAG, -Werror.
# Both work like AX_CHECK_COMPILE_FLAG and AX_CHECK_LINK_FLAG of the
# autoconf archive, which Debian does not install by default.

AC_DEFUN([GOIP_CHECK_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	goip_save_CFLAGS=$CFLAGS
	CFLAGS="$CFLAGS $3 $1 -Werror"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <string.h>]],
	    [[char b[16]; return (int)strlen(strcpy(b, "x"));]])],
	    [goip_cv_cflag=yes], [goip_cv_cflag=no])
	CFLAGS=$goip_save_CFLAGS
	AC_MSG_RESULT([$goip_cv_cflag])
	AS_IF([test "x$goip_cv_cflag" = xyes], [$2="${$2:+$$2 }$1"])
])

AC_DEFUN([GOIP_CHECK_LDFLAG], [
	AC_MSG_CHECKING([whether $CC links with $1])
	goip_save_CFLAGS=$CFLAGS
	goip_save_LDFLAGS=$LDFLAGS
	CFLAGS="$CFLAGS $3 -Werror"
	LDFLAGS="$LDFLAGS $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <stdio.h>]],
	    [[return puts("x") < 0;]])],
	    [goip_cv_ldflag=yes], [goip_cv_ldflag=no])
	CFLAGS=$goip_save_CFLAGS
	LDFLAGS=$goip_save_LDFLAGS
	AC_MSG_RESULT([$goip_cv_ldflag])
	AS_IF([test "x$goip_cv_ldflag" = xyes], [$2="${$2:+$$2 }$1"])
])
