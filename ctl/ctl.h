/*
 * ctl.h: what the files of goipctl share: the configuration, opening the
 * store, the usage message, and the command families of the other files.
 */
#ifndef CTL_H
#define CTL_H

struct config;
struct store;

/* goipctl.c */
extern struct config	*cfg;
void		 usage(void) __attribute__((__noreturn__));
struct store	*ctl_open(int);
int		 ctl_fail(const char *, char *);

/* line.c */
int		 cmd_line(int, char *[]);
int		 cmd_ussd(int, char *[]);

/* webhook.c */
int		 cmd_webhook(int, char *[]);

#endif /* CTL_H */
