/*
 * store_int.h: the inside of struct store, for lib/ only.
 *
 * Programs see `struct store' as an opaque handle (goip.h) and use the
 * store_*() functions; the files of lib/ that run statements, group
 * transactions or checkpoint the WAL (store.c, group.c, checkpoint.c and
 * the table files) include this header. tests/store_test.c includes it too,
 * to inspect a connection from the outside.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#define STORE_STMTS_MAX	160	/* prepared statements cached per connection */

struct store {
	struct sqlite3	*db;
	char		*path;
	int64_t		 busy_timeout;	/* ms */
	int64_t		 busy_since;	/* us, monotonic */
	enum store_rc	 lastrc;	/* of the last failed statement */
	int		 intx;
	int		 group;		/* transactions join a group: group.c */
	int		 gopen;		/* the group's transaction is open */
	int		 gmembers;	/* requests that kept their writes */
	int		 gbusy;		/* the group could not get the lock */
	enum store_rc	 gfailed;	/* SQLite abandoned the transaction */
	int		 nstmts;
	struct {
		const char		*sql;
		struct sqlite3_stmt	*stmt;
	}		 stmts[STORE_STMTS_MAX];
};

/*
 * How column COL of a row shows in an API object: under KEY, added by one
 * of the store_json_*() functions. A table of them ends with a NULL key.
 */
struct store_col {
	const char	*key;
	int		 col;
	void		(*add)(struct json_object *, const char *,
			    struct sqlite3_stmt *, int);
};

/* store.c */
void		 store_json_cols(struct json_object *, struct sqlite3_stmt *,
		    const struct store_col *);
struct json_object *store_json_object(struct sqlite3_stmt *,
		    const struct store_col *);

#endif /* STORE_INT_H */
