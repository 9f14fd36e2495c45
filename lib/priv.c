/*
 * priv.c: the privileges of the daemons (goip-notifier, goip-udpd).
 *
 * Started as root, a daemon binds what needs root, then becomes the user
 * goip.conf names for good; it refuses to keep root unless told to.
 */
#include "config.h"

#include <sys/types.h>

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "goip.h"

/*
 * Decide, before anything is bound, whose privileges the daemon will run
 * with. Started as root it refuses to keep root unless told: USER empty is
 * an error (FILE names the configuration in the message), "root" keeps
 * root, any other name is looked up (uid and gid in *UID, *GID) to be
 * dropped to after binding. Not started as root, USER must be empty or our
 * own user. Returns 1 (drop later with priv_drop()), 0 (nothing to do) or
 * exits.
 */
int
priv_decide(const char *file, const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	if (geteuid() == 0) {
		if (user == NULL || user[0] == '\0')
			fatalx("main: started as root and %s sets no user: "
			    "set \"user = NAME\" to run as NAME after binding, "
			    "or \"user = root\" to keep root", file);
		if (strcmp(user, "root") == 0) {
			log_info("main: keeping root (user = root)");
			return 0;
		}
		if ((pw = getpwnam(user)) == NULL)
			fatalx("main: user = %s: no such user", user);
		if (pw->pw_uid == 0)
			fatalx("main: user = %s has uid 0", user);
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		return 1;
	}
	if (user == NULL || user[0] == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("main: user = %s: no such user", user);
	if (pw->pw_uid != geteuid())
		fatalx("main: user = %s, but started as uid %lu: only root "
		    "can switch users", user, (unsigned long)geteuid());
	return 0;
}

/*
 * Become USER (uid UID, gid GID) for good: its supplementary groups, then
 * real, effective and saved group and user ids. Exits when any step fails
 * or when root can be regained afterwards.
 */
void
priv_drop(const char *user, uid_t uid, gid_t gid)
{
	if (initgroups(user, gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("main: cannot drop privileges to %s", user);
	if (setuid(0) != -1 || seteuid(0) != -1 || getuid() != uid ||
	    geteuid() != uid || getgid() != gid || getegid() != gid)
		fatalx("main: could regain privileges after switching to %s",
		    user);
	log_info("main: running as %s (uid %lu)", user, (unsigned long)uid);
}
