/*
 * ctl.h: goipctl's files. goipctl.c parses the command line and runs the
 * core commands; each command family of its own lives in its own file.
 */
#ifndef CTL_H
#define CTL_H

struct config;
struct store;

extern struct config	*cfg;

/* goipctl.c */
struct store	*ctl_open(int);
int		 ctl_fail(const char *, char *);

/* webhook.c */
int		 cmd_webhook(int, char *[]);

#endif /* CTL_H */
