/*
 * fuzz_config.c: libFuzzer harness for the goip.conf parser. Each input is
 * written to a file in /dev/shm and loaded as a configuration.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "goip.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 path[64];
	struct config	*cfg;
	FILE		*fp;
	char		*cause = NULL;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/dev/shm/fuzz-goip-%d.conf",
		    (int)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	cfg = config_new();
	if (config_load(cfg, path, &cause) == 0)
		config_origin_allowed(cfg, "http://127.0.0.1");
	free(cause);
	config_free(cfg);
	return 0;
}
