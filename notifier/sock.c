/*
 * sock.c: the notifier's Unix sockets (its HTTP listener and the notify
 * socket goip-cgi rings), created with their mode and group in place and
 * never changed afterwards through a path.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goip.h"
#include "notifier.h"

#define SOCK_TMPNAME	"s"	/* the socket's name inside its private dir */

/*
 * Resolve GROUP (a name or a number; NULL or empty: the process's own
 * group) into *GID. Returns 0, or -1 with *cause set (allocated).
 */
int
sock_group(const char *group, gid_t *gid, char **cause)
{
	struct group	*gr;
	char		*end;
	unsigned long	 n;

	if (group == NULL || group[0] == '\0') {
		*gid = getegid();
		return 0;
	}
	if ((gr = getgrnam(group)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(group, &end, 10);
	if (errno == 0 && *end == '\0' && end != group && n < (gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	xasprintf(cause, "listen_group: unknown group %s", group);
	return -1;
}

/*
 * Is a live socket of TYPE bound at PATH? Connecting is the only honest
 * test: a file left by a crash refuses the connection.
 */
static int
sock_alive(const struct sockaddr_un *sun, int type)
{
	int	fd, rc;

	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0;
}

/*
 * Make a Unix socket of TYPE (SOCK_STREAM: listening; SOCK_DGRAM) at the
 * absolute PATH with mode 0660, owner UID (0: ours) and group GID,
 * non-blocking and close-on-exec. Returns the descriptor, or -1 with *cause set (allocated;
 * caller frees) and nothing left behind.
 *
 * The mode comes from the umask around bind(); nothing is ever chmod'ed or
 * chown'ed through PATH, where a symbolic link planted between bind() and
 * the change would redirect it (we may run as root). The owner and group
 * (the owner: root binding for the user it switches to) are set on
 * the socket while it lives in a directory we just made with mode 0700
 * next to PATH, through a descriptor of that directory: nobody else can
 * put anything in it, so fchownat() there can only reach our socket. The
 * socket then replaces PATH in one rename(), which never follows a link.
 * This works for root and, for a group we are a member of, for any user;
 * setegid() around bind() would not work for a supplementary group of an
 * unprivileged user. A live socket at PATH (another notifier) is an error;
 * one left by a crash is replaced; anything else at PATH is an error.
 * Costs: the directory of PATH must be writable by us (bind() needs it
 * anyway).
 */
int
sock_unix(const char *path, int type, uid_t uid, gid_t gid, char **cause)
{
	struct sockaddr_un	 sun, tmp;
	struct stat		 sb;
	char			*copy = NULL, *dir, tdir[sizeof(sun.sun_path)];
	mode_t			 old;
	int			 fd = -1, dfd = -1, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] != '/') {
		xasprintf(cause, "%s: not an absolute path", path);
		return -1;
	}
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		xasprintf(cause, "%s: path too long", path);
		return -1;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			xasprintf(cause, "%s: exists and is not a socket",
			    path);
			return -1;
		}
		if (sock_alive(&sun, type)) {
			xasprintf(cause, "%s: in use by another process",
			    path);
			return -1;
		}
	}

	copy = xstrdup(path);
	dir = dirname(copy);
	n = snprintf(tdir, sizeof(tdir), "%s/.goip.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(tdir) || (size_t)n +
	    sizeof("/" SOCK_TMPNAME) > sizeof(sun.sun_path)) {
		xasprintf(cause, "%s: path too long", path);
		free(copy);
		return -1;
	}
	free(copy);
	if (mkdtemp(tdir) == NULL) {
		xasprintf(cause, "%s: %s", tdir, strerror(errno));
		return -1;
	}
	if ((dfd = open(tdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", tdir, strerror(errno));
		rmdir(tdir);
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.sun_family = AF_UNIX;
	/* Fits: checked against sun_path above. */
	memcpy(tmp.sun_path, tdir, strlen(tdir));
	memcpy(tmp.sun_path + strlen(tdir), "/" SOCK_TMPNAME,
	    sizeof("/" SOCK_TMPNAME));

	if ((fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(0117);
	n = bind(fd, (struct sockaddr *)&tmp, sizeof(tmp));
	umask(old);
	if (n == -1) {
		xasprintf(cause, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fchownat(dfd, SOCK_TMPNAME, uid != 0 ? uid : (uid_t)-1, gid,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		xasprintf(cause, "%s: group %lu: %s", path,
		    (unsigned long)gid, strerror(errno));
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, 1024) == -1) {
		xasprintf(cause, "listen %s: %s", path, strerror(errno));
		goto fail;
	}
	if (renameat(dfd, SOCK_TMPNAME, AT_FDCWD, path) == -1) {
		xasprintf(cause, "rename to %s: %s", path, strerror(errno));
		goto fail;
	}
	close(dfd);
	rmdir(tdir);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	unlinkat(dfd, SOCK_TMPNAME, 0);
	close(dfd);
	rmdir(tdir);
	return -1;
}
